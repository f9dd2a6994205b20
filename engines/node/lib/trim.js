'use strict';
// Keeping the engine within its memory budget (memory-plan.js): past trimAtBytes of resident
// memory, measured after each call as a cgroup counts it, isolates are dropped. Their tenants'
// next calls make them again (a script's globals are not kept anyway: kv is).
//
// Which ones: first those grown past the size every isolate starts with, the largest first (the
// running call's too: the call that grew it has run, and dropping a small one instead frees
// little), and their tenants' calls then wait (a memory strike, budgets.js: 1 s, 2, 4 ...); then
// the least recently used others. Dropping the least recently used alone, ten tenants keeping
// 14 MiB each got a light tenant's isolate dropped every round and rebuilt their own on every
// call, each a lump of the engine's thread; twenty such tenants under a 256 MB budget got the
// supervised engine killed (round 5, N5-1).
// A dropped isolate's memory is resident until V8 collects it: what was dropped and not yet
// collected (unfreed.js) does not count as resident, and after dropping a grown one the engine
// asks V8 for a collection as soon as the call has returned.

const { TenantIsolate } = require('./isolate');
const { INITIAL_BYTES } = require('./quickjs');
const { Unfreed } = require('./unfreed');
const { monotonic } = require('./budgets');

// What a dropped isolate that had not grown frees, about (measured: 0.6 MiB for a context with a
// small script; most of its 16 MiB of WebAssembly memory is never touched).
const SMALL_ISOLATE_BYTES = 1024 * 1024;
// Of an isolate that grew, what is resident is about all of its memory but for most of the C
// stack (5 MiB; measured: 15 of 23 MiB resident for 14 MiB kept).
const UNTOUCHED_STACK_BYTES = 4 * 1024 * 1024;

/** How far an isolate's WebAssembly memory grew past the size every isolate starts with. */
const grownBytes = (i) => Math.max(0, i.memory.buffer.byteLength - INITIAL_BYTES);
/** About what dropping an isolate frees. */
const residentBytes = (i) => (grownBytes(i) > 0 ? i.memory.buffer.byteLength - UNTOUCHED_STACK_BYTES : SMALL_ISOLATE_BYTES);

class Trim {
  /** `trimAtBytes`: Infinity for none; `budgets`: the tenants' (TenantBudgets), for their memory strikes. */
  constructor(trimAtBytes, budgets, log) {
    this.trimAtBytes = trimAtBytes;
    this.budgets = budgets;
    this.log = log;
    this.unfreed = new Unfreed();
    this.logged = 0;
  }

  /** After a call of `current`'s: drops from `isolates` (tenant -> TenantIsolate, or a promise of one) what must go. */
  trim(isolates, current) {
    if (this.trimAtBytes === Infinity) return;
    const over = process.memoryUsage.rss() - this.unfreed.bytes() - this.trimAtBytes;
    if (over <= 0) return;
    const candidates = [];
    for (const [tenant, i] of isolates) {
      if (i instanceof TenantIsolate && (tenant !== current || grownBytes(i) > 0)) candidates.push(i);
    }
    candidates.sort((a, b) => grownBytes(b) - grownBytes(a)); // stable: least recently used first among equals
    let freed = 0;
    let dropped = 0;
    let grown = 0;
    const now = monotonic();
    for (const i of candidates) {
      if (freed >= over) break;
      isolates.delete(i.tenant);
      const bytes = residentBytes(i);
      this.unfreed.add(i.memory, bytes);
      freed += bytes;
      dropped++;
      if (grownBytes(i) > 0) {
        grown++;
        this.budgets.of(i.tenant).memory.ended(`it had grown to ${i.memory.buffer.byteLength >> 20} MiB, `
          + "the largest while the engine's memory was short", now);
      }
    }
    if (grown > 0) this.unfreed.collectSoon();
    if (dropped > 0 && Date.now() - this.logged >= 10000) {
      this.logged = Date.now();
      this.log(`engine memory: ${process.memoryUsage.rss() >> 20} MiB resident, above ${this.trimAtBytes >> 20} MiB; `
        + `dropped ${dropped} idle isolate(s), ${grown} of them grown (their tenants wait)`);
    }
  }
}

module.exports = { Trim };
