'use strict';
// The kv stores' memory (lib/kv.js) and the engine's memory plan (lib/memory-plan.js).
//   node --test engines/node/test/

const test = require('node:test');
const assert = require('node:assert');
const { Stores, Memory, LIMITS } = require('../lib/kv');
const { plan, budgetMb } = require('../lib/memory-plan');

const MIB = 1024 * 1024;

test('tenants filling their stores leave the last quarter of the process\'s kv memory to lighter tenants (N2-4)', () => {
  // Failed before: first come, first served; four heavy tenants took all of it and every other
  // tenant's kv.set failed.
  const memory = new Memory(4 * MIB);
  const stores = new Stores({ ...LIMITS, maxBytes: 2 * MIB }, memory);
  const value = 'v'.repeat(16 * 1024); // 32 KiB counted
  const fill = (tenant) => {
    const s = stores.of(tenant);
    let n = 0;
    try {
      for (;;) s.set(`k${n++}`, value, 0);
    } catch (e) {
      return e.message;
    }
  };
  const heavy = ['h0', 'h1', 'h2', 'h3'].map(fill);
  for (const m of heavy) assert.match(m, /^kv store of tenant h\d is full/);
  const held = ['h0', 'h1', 'h2', 'h3'].map((t) => stores.of(t).bytes);
  assert.ok(held[0] + held[1] <= 0.75 * memory.max, `the first two took at most three quarters: ${held}`);
  assert.ok(held[2] <= memory.max / 64 && held[3] <= memory.max / 64, `the others, a sixty-fourth each of the rest: ${held}`);
  const light = stores.of('light');
  light.set('k0', value, 0); // 32 KiB: under a sixty-fourth of the memory
  assert.strictEqual(light.get('k0'), value);
  assert.throws(() => stores.of('h1').set('more', value, 0), /kv store of tenant h1 is full .*the process's kv memory is used up/);
});

test('seven tenants cannot fill the reserve between them (N5-7)', () => {
  // Failed before: three tenants filled their stores and four more held a sixteenth each of the
  // process's kv memory: every other tenant's kv.set of 64 KiB failed.
  const memory = new Memory(4 * MIB);
  const stores = new Stores({ ...LIMITS, maxBytes: MIB }, memory);
  const value = 'v'.repeat(2000); // about 4 KiB counted
  const fill = (tenant) => {
    const s = stores.of(tenant);
    try {
      for (let n = 0; ; n++) s.set(`k${n}`, value, 0);
    } catch (e) {
      return s.bytes;
    }
  };
  ['h0', 'h1', 'h2', 'm0', 'm1', 'm2', 'm3'].forEach(fill);
  const next = stores.of('next');
  for (let i = 0; i < 12; i++) next.set(`k${i}`, value, 0); // about 48 KiB
  assert.strictEqual(next.get('k11'), value);
});

test('the memory plan fits a budget: isolates, kv and the compiler are sized from it (N2-3)', () => {
  assert.deepStrictEqual(plan(256, 32), {
    isolateBytes: 32 * MIB, kvTenantBytes: 8 * MIB, kvTotalBytes: 32 * MIB, compileBytes: 32 * MIB, waitingBytes: 32 * MIB, trimAtBytes: Math.floor(256 * MIB * 0.55),
  });
  assert.strictEqual(plan(160, 64).isolateBytes, 40 * MIB, '--memory-mb lowered to a quarter of the budget');
  assert.strictEqual(plan(null, 32).trimAtBytes, Infinity, 'no budget: nothing is trimmed');
  assert.throws(() => plan(100, 32), /the memory budget must be at least 128 MiB, got 100/);
  assert.strictEqual(budgetMb(undefined, String(256 * MIB)), 256, 'from KEYSTONE_ENGINE_MEMORY (bytes)');
  assert.strictEqual(budgetMb(300, String(256 * MIB)), 300, 'the flag wins');
  assert.strictEqual(budgetMb(undefined, undefined), null);
  assert.throws(() => budgetMb(undefined, '12abc'), /KEYSTONE_ENGINE_MEMORY: a number of bytes, got '12abc'/);
});
