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

test("what an isolate holds is read from its memory's mapping: its own pages, nothing else the engine holds", async () => {
  // Estimated from the growth of the engine's memory during its entries before, a tenant looked
  // as if it held what V8's heap or a client's bodies took meanwhile (attack rounds 6-7).
  const { residentIn } = require('../lib/resident');
  const keeper = await TenantIsolate.create('keeper', OPTIONS);
  const other = await TenantIsolate.create('other', OPTIONS);
  assert.ok(keeper.base !== null && other.base !== null, 'the mappings were found');
  const window = new RequestWindow(5000, new TimeShare(5000), 5000);
  const ctx = keeper.runtime.newContext();
  keeper.enter('x.js', window, () => ctx.evalCode('globalThis.keep = []; for (let i = 0; i < 12; i++) keep.push(new Uint8Array(1 << 20).fill(1));').dispose());
  const hostHeap = [];
  other.enter('x.js', window, () => {
    for (let i = 0; i < 8; i++) hostHeap.push(Array.from({ length: 65536 }, (_, j) => ({ i, j }))); // about 20 MiB of the engine's heap
  });
  const [kept, none] = residentIn([{ base: keeper.base, bytes: keeper.maxBytes }, { base: other.base, bytes: other.maxBytes }]);
  assert.ok(kept >= 12 << 20 && kept <= 20 << 20, `the isolate keeping 12 MiB holds ${kept >> 20} MiB`);
  assert.ok(none < 3 << 20, `the other holds ${none >> 20} MiB, though the engine's heap grew ${hostHeap.length} times 2.5 MiB during its entry`);
});
