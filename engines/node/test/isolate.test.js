'use strict';
// One request's entries into a tenant's isolate share one watchdog window (lib/isolate.js).
//   node --test engines/node/test/

const test = require('node:test');
const assert = require('node:assert');
const { TenantIsolate, RequestWindow } = require('../lib/isolate');
const { TimeShare } = require('../lib/budgets');
const { ScriptFailure } = require('../lib/failure');
const { cpuMs } = require('../lib/cpu-clock');

const OPTIONS = { memoryBytes: 32 << 20, deadlineMs: 50 };

test("an entry of a request whose window its earlier entries used up fails at once, without running", async () => {
  const isolate = await TenantIsolate.create('t', OPTIONS);
  const window = new RequestWindow(OPTIONS.deadlineMs, new TimeShare(500));
  assert.strictEqual(window.leftMs, 250, 'four deadlines and 50 ms');
  assert.strictEqual(isolate.enter('x.js', window, () => 'ran'), 'ran');
  window.spend(window.leftMs, 0); // as if the entries so far had taken the whole window
  let ran = false;
  assert.throws(() => isolate.enter('x.js', window, () => { ran = true; }),
    (e) => e instanceof ScriptFailure && e.limit && e.message === 'x.js: deadline of 50 ms passed');
  assert.strictEqual(ran, false);
  assert.strictEqual(isolate.broken, null, 'the isolate stays');
});

test("every entry's CPU time is charged to the tenant's time share", async () => {
  const isolate = await TenantIsolate.create('t', OPTIONS);
  const share = new TimeShare(500);
  const window = new RequestWindow(OPTIONS.deadlineMs, share);
  isolate.enter('x.js', window, () => {
    const until = performance.now() + 20;
    while (performance.now() < until) { /* the engine's own work, counted all the same */ }
  });
  assert.ok(share.bucket.tokens < 500 && window.leftMs < 250, `tokens ${share.bucket.tokens}, window ${window.leftMs}`);
});

test("an entry past twice its call's deadline in CPU time is marked overran; the call's deadline, not what its wait left of it", async () => {
  // Failed before: the rule used the entry's deadline, which is what the gateway's deadline_ms
  // left after the call waited its turn: a call that waited 30 ms behind other tenants' calls had
  // 5 ms left, and 20 ms of its own ordinary work earned its tenant a penalty.
  const busy = (ms) => () => {
    const until = cpuMs() + ms; // CPU time, not wall-clock: on a busy host the loop may wait
    while (cpuMs() < until) { /* CPU time of the entry */ }
  };
  const isolate = await TenantIsolate.create('t', OPTIONS);
  const waited = new RequestWindow(5, new TimeShare(500), OPTIONS.deadlineMs, true, 35);
  assert.throws(() => isolate.enter('x.js', waited, busy(40)), (e) => e instanceof ScriptFailure && e.limit);
  assert.strictEqual(isolate.overran, null, '40 ms of CPU is not past twice the 35 ms the call was asked for');
  const own = new RequestWindow(35, new TimeShare(500), OPTIONS.deadlineMs, true, 35);
  assert.throws(() => isolate.enter('x.js', own, busy(90)), (e) => e instanceof ScriptFailure && e.limit);
  assert.match(isolate.overran, /^it ran \d+ ms of CPU in one entry, its deadline 35 ms$/);
});

test("what an isolate holds counts the growth of its own memory during its entries, not the engine's heap", async () => {
  // Failed before: every growth of the resident memory during an entry counted, so a tenant whose
  // kv stores grew the engine's heap (kv lives there, bounded on its own) looked as if its isolate
  // held that too, and under memory pressure was dropped and penalised for it, freeing nothing.
  const isolate = await TenantIsolate.create('t', OPTIONS);
  const window = new RequestWindow(5000, new TimeShare(5000), 5000);
  const before = isolate.resident;
  const hostHeap = [];
  isolate.enter('x.js', window, () => {
    for (let i = 0; i < 8; i++) hostHeap.push(Array.from({ length: 65536 }, (_, j) => ({ i, j }))); // about 20 MiB of objects
  });
  assert.ok(hostHeap.length === 8);
  assert.ok(isolate.resident - before < 4 << 20, `counted ${(isolate.resident - before) >> 20} MiB for the engine's own heap`);
  const ctx = isolate.runtime.newContext();
  isolate.enter('x.js', window, () => ctx.evalCode('globalThis.keep = []; for (let i = 0; i < 12; i++) keep.push(new Uint8Array(1 << 20).fill(1));').dispose());
  assert.ok(isolate.resident - before >= 10 << 20, `counted ${(isolate.resident - before) >> 20} MiB for 12 MiB kept in the isolate`);
});
