'use strict';
// One request's entries into a tenant's isolate share one watchdog window (lib/isolate.js).
//   node --test engines/node/test/

const test = require('node:test');
const assert = require('node:assert');
const { TenantIsolate, RequestWindow } = require('../lib/isolate');
const { TimeShare } = require('../lib/budgets');
const { ScriptFailure } = require('../lib/failure');

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
