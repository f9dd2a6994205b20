'use strict';
// Memory the engine let go of that is not given back yet: a dropped isolate's WebAssembly memory
// stays resident (and counts against a cgroup's limit) until V8 collects it. scripts.js trim()
// counts it as freed already, so that it does not drop more isolates for memory on its way out
// (it dropped a light tenant's for that, round 5, N5-1), and asks for a collection after dropping
// big ones (left to V8, the engine peaked 46 MiB above its budget).
//
// An entry counts until V8 has finalized its object and a little after (GRACE_MS: the memory was
// given back 5-10 ms after a collection, measured), or at most HOLD_MS: something may keep an
// isolate reachable for a while (a call of its tenant still settling), and an entry counted for
// good would keep the engine from trimming again.

const v8 = require('v8');
const vm = require('vm');

const GRACE_MS = 50;
const HOLD_MS = 5000;

// V8's full collection, reached without starting Node with --expose-gc (the engine is started by
// whatever command the operator configured). A few milliseconds for the engine's heap.
let gc = null;
try {
  v8.setFlagsFromString('--expose-gc');
  gc = vm.runInNewContext('gc');
} catch {
  gc = null;
}

class Unfreed {
  constructor(now = Date.now) {
    this.now = now;
    this.entries = new Map(); // token -> {bytes, at, finalizedAt}
    this.registry = new FinalizationRegistry((token) => {
      const e = this.entries.get(token);
      if (e !== undefined) e.finalizedAt = this.now();
    });
    this.collecting = false;
  }

  /** `target` (an isolate's WebAssembly.Memory) was let go of; about `bytes` of it are resident. */
  add(target, bytes) {
    const token = {};
    this.entries.set(token, { bytes, at: this.now(), finalizedAt: null });
    this.registry.register(target, token);
  }

  /** What was let go of and is (probably) still resident. */
  bytes() {
    const t = this.now();
    let sum = 0;
    for (const [token, e] of this.entries) {
      if (t - e.at >= HOLD_MS || (e.finalizedAt !== null && t - e.finalizedAt >= GRACE_MS)) this.entries.delete(token);
      else sum += e.bytes;
    }
    return sum;
  }

  /**
   * A full collection now, for the isolates dropped that no running call reaches (other tenants'):
   * their memory is given back before the next call can allocate more (left to the collection
   * after the call, the next call's allocation came first: the engine peaked at 162-178 MiB
   * under a 160 MiB budget on a 6.18 kernel, 2026-12-07).
   */
  collectNow() {
    if (gc !== null) gc();
  }

  /**
   * A full collection once the running call has returned (its frames still reach an isolate it
   * dropped, its own included), one for any number of asks before it runs.
   */
  collectSoon() {
    if (gc === null || this.collecting) return;
    this.collecting = true;
    setImmediate(() => {
      this.collecting = false;
      gc();
    });
  }
}

module.exports = { Unfreed };
