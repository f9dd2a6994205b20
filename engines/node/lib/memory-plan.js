'use strict';
// How the engine divides the memory it has. Without a budget, each bound came from the engine's
// own flags and V8's heap limit (4 GiB on a large host), not from the memory the engine really
// has: under a supervising gateway's 256 MB cgroup, four tenants each within their limits (a
// 32 MiB isolate, a 64 MiB kv store) got the shared engine OOM-killed every few seconds (attack on
// the Node engine, round 2, N2-3). With a budget (--memory-budget-mb, or KEYSTONE_ENGINE_MEMORY in
// bytes, which a supervising gateway sets from supervise.memory):
// - an isolate may grow to at most a quarter of it (--memory-mb is lowered to fit);
// - all kv stores together hold an eighth of it, one tenant a quarter of that;
// - the compile worker's QuickJS gets an eighth of it (at most 64 MiB), and so do the requests
//   waiting for their turn (scheduler.js);
// - past TRIM_AT of it in resident memory (measured, as the cgroup measures it), the least recently
//   used isolates are dropped after a call, and made again when their tenants call.

const v8 = require('v8');

const MIB = 1024 * 1024;
const MIN_BUDGET_MB = 128; // Node itself and the QuickJS module take 60-85 MiB resident (the binary's pages: 20-45)
// (0.7 left too little room where Node alone is ~85 MiB resident, 44 of it the binary's pages: ten
// tenants building 14 MiB each peaked at 162-178 MiB under a 160 MiB budget, 2026-12-07.)
// (0.6 still overshot once in CI: 164 MiB.)
const TRIM_AT = 0.55;
const HEAP = v8.getHeapStatistics().heap_size_limit;

/** The budget in MiB from the flag's value or the environment, or null (none); throws on a bad value. */
function budgetMb(flag, env = process.env.KEYSTONE_ENGINE_MEMORY) {
  if (flag !== undefined) return flag;
  if (env === undefined || env === '') return null;
  const bytes = Number(env);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`KEYSTONE_ENGINE_MEMORY: a number of bytes, got '${env}'`);
  return Math.floor(bytes / MIB);
}

/**
 * The engine's memory plan for a budget of `budget` MiB (null: none) and --memory-mb `memoryMb`:
 * {isolateBytes, kvTenantBytes, kvTotalBytes, compileBytes, waitingBytes (requests waiting for
 * their turn: scheduler.js), trimAtBytes (Infinity: never)}.
 */
function plan(budget, memoryMb) {
  if (budget === null) {
    return {
      isolateBytes: memoryMb * MIB,
      kvTenantBytes: Math.min(64 * MIB, Math.floor(HEAP / 16)),
      kvTotalBytes: Math.floor(HEAP / 8),
      compileBytes: 64 * MIB,
      waitingBytes: 64 * MIB,
      trimAtBytes: Infinity,
    };
  }
  if (!Number.isInteger(budget) || budget < MIN_BUDGET_MB) throw new Error(`the memory budget must be at least ${MIN_BUDGET_MB} MiB, got ${budget}`);
  const bytes = budget * MIB;
  const kvTotal = Math.floor(bytes / 8);
  return {
    isolateBytes: Math.min(memoryMb * MIB, Math.max(24 * MIB, Math.floor(bytes / 4))),
    kvTenantBytes: Math.min(64 * MIB, Math.floor(kvTotal / 4)),
    kvTotalBytes: kvTotal,
    compileBytes: Math.min(64 * MIB, Math.max(24 * MIB, Math.floor(bytes / 8))),
    waitingBytes: Math.min(64 * MIB, Math.floor(bytes / 8)),
    trimAtBytes: Math.floor(bytes * TRIM_AT),
  };
}

module.exports = { budgetMb, plan, MIN_BUDGET_MB, TRIM_AT };
