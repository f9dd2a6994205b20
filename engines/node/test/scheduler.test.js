'use strict';
// The order calls get the engine's thread in (lib/scheduler.js), with jobs the test finishes
// itself: no script runs, no sleeps.
//   node --test engines/node/test/

const test = require('node:test');
const assert = require('node:assert');
const { Scheduler, Refused } = require('../lib/scheduler');

/** A job the test ends: job.done(value). */
function held(log, name) {
  let done;
  const p = new Promise((r) => { done = r; });
  const job = () => { log.push(`start ${name}`); return p; };
  job.done = (v) => done(v);
  return job;
}

const turn = () => new Promise((r) => setImmediate(r));

test('while one call runs, the next turn goes to the tenant that used the least time lately, not the first to come (N2-7)', async () => {
  const recent = { heavy: 0, light: 3 };
  const s = new Scheduler((t) => recent[t]);
  const log = [];
  const first = held(log, 'heavy-1');
  const second = held(log, 'heavy-2');
  const third = held(log, 'light');
  const done = [];
  s.run('heavy', Infinity, first).then(() => done.push('heavy-1'));
  s.run('heavy', Infinity, second).then(() => done.push('heavy-2'));
  s.run('light', Infinity, third).then(() => done.push('light'));
  assert.deepStrictEqual(log, [], 'nothing starts before the event loop has read what arrived');
  await turn();
  assert.deepStrictEqual(log, ['start heavy-1'], 'one call at a time (all three equally light then: the oldest)');
  recent.heavy = 400;
  first.done();
  await turn(); await turn();
  assert.deepStrictEqual(log, ['start heavy-1', 'start light'], 'the light tenant goes next although it came last');
  third.done();
  await turn(); await turn();
  second.done();
  await turn(); await turn();
  assert.deepStrictEqual(done, ['heavy-1', 'light', 'heavy-2']);
});

test('calls of the same tenant keep their order, and equal tenants go oldest first', async () => {
  const s = new Scheduler(() => 0);
  const log = [];
  const jobs = ['a-1', 'b-1', 'a-2', 'b-2'].map((n) => held(log, n));
  const blocker = held(log, 'x');
  s.run('x', Infinity, blocker);
  await turn();
  jobs.forEach((j, i) => s.run(i % 2 === 0 ? 'a' : 'b', Infinity, j));
  blocker.done();
  for (const j of jobs) {
    await turn(); await turn();
    j.done();
  }
  await turn(); await turn();
  assert.deepStrictEqual(log, ['start x', 'start a-1', 'start b-1', 'start a-2', 'start b-2']);
});

test('a tenant may have an eighth of the calls and bytes that may wait; the last quarter is kept for tenants with few waiting (N3-7)', async () => {
  const s = new Scheduler(() => 0, undefined, { total: 64, bytes: 64000 });
  const blocker = held([], 'x');
  s.run('x', Infinity, blocker);
  await turn();
  const waiting = [];
  for (let i = 0; i < 8; i++) waiting.push(s.run('a', Infinity, () => i));
  await assert.rejects(s.run('a', Infinity, () => 'never'), (e) => e instanceof Refused && e.limit === true
    && e.message === '8 calls (0 KiB) of this tenant are waiting for the engine already');
  await assert.rejects(s.run('b', Infinity, () => 'never', 8001), (e) => e instanceof Refused && e.limit === true, 'an eighth of the bytes');
  for (const t of ['c', 'd', 'e', 'h']) for (let i = 0; i < 8; i++) waiting.push(s.run(t, Infinity, () => i));
  for (const t of ['f', 'g']) for (let i = 0; i < 4; i++) waiting.push(s.run(t, Infinity, () => i));
  // 48 waiting: three quarters of 64. A tenant with 4 waiting is refused, as others' doing...
  await assert.rejects(s.run('f', Infinity, () => 'never'), (e) => e instanceof Refused && e.limit === false
    && e.message === '48 calls (0 KiB) are waiting for the engine already');
  await assert.rejects(s.run('c', Infinity, () => 'never'), (e) => e instanceof Refused && e.limit === true);
  // ...a tenant with fewer than 4 waiting still gets in
  for (let i = 0; i < 4; i++) waiting.push(s.run('light', Infinity, () => 'light'));
  await assert.rejects(s.run('light', Infinity, () => 'never'), (e) => e instanceof Refused && e.limit === false);
  blocker.done();
  const results = await Promise.all(waiting);
  assert.strictEqual(results.length, 52);
  assert.strictEqual(s.waiting, 0);
  assert.strictEqual(s.waitingBytes, 0);
});

test('calls whose deadline passed while they wait are refused at once, not when their turn comes', async () => {
  let t = 0;
  const s = new Scheduler(() => 0, () => t);
  const blocker = held([], 'x');
  s.run('x', Infinity, blocker);
  await turn();
  const late = s.run('a', 40, () => 'never');
  let settled = false;
  late.catch(() => { settled = true; });
  t = 41;
  s.next(); // the engine looks again (here: while the blocker still runs)
  await turn();
  assert.strictEqual(settled, true, 'refused while another call still runs');
  await assert.rejects(late, (e) => e instanceof Refused && e.limit === false && /^waited 41 ms/.test(e.message));
  blocker.done();
});

test('a call whose deadline passed while it waited is not run; a job that throws rejects its call only', async () => {
  let t = 0;
  const s = new Scheduler(() => 0, () => t);
  const blocker = held([], 'x');
  s.run('x', Infinity, blocker);
  await turn();
  let ran = false;
  const late = s.run('a', 50, () => { ran = true; });
  const failing = s.run('b', Infinity, () => { throw new Error('boom'); });
  const fine = s.run('c', 1000, (waited) => `waited ${waited}`);
  t = 60;
  blocker.done();
  await assert.rejects(late, (e) => e instanceof Refused && e.message === "waited 60 ms for the engine, past the call's deadline");
  assert.strictEqual(ran, false);
  await assert.rejects(failing, /boom/);
  assert.strictEqual(await fine, 'waited 60');
});
