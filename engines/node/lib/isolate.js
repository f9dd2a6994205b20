'use strict';
// One tenant's isolate: a QuickJS module instance of its own (its own WebAssembly memory, see
// quickjs.js), one runtime in it with the tenant's limits, and one context per script the tenant
// runs (script.js). Tenants never share a module, runtime, context or kv store.
//
// The limits of every entry into the isolate (a script's top level, each call):
// - the memory limit (--memory-mb): the instance's WebAssembly memory cannot grow beyond it
//   (quickjs.js), and QuickJS throws "out of memory";
// - the stack limit of the runtime (STACK_BYTES): QuickJS throws "stack overflow";
// - the deadline (--deadline-ms), by QuickJS's interrupt handler: an uncatchable "interrupted";
// - the watchdog, for what the interrupt handler cannot stop: QuickJS only asks it while it runs
//   bytecode, so a loop inside a built-in written in C (Array.prototype.indexOf over an
//   array-like of length 2^53) would hold the engine's only thread forever. vm's timeout makes V8
//   terminate whatever runs, the wasm included; the isolate, stopped in the middle of C code, is
//   then thrown away.
// An isolate that may be left broken (out of memory, the watchdog, a trap, V8's own stack
// overflow, promise jobs left over after the deadline) is marked `broken`; the engine drops it
// and the tenant's next call builds a new one, which runs its scripts' top level again.

const vm = require('vm');
const { newModule } = require('./quickjs');
const { ScriptFailure } = require('./failure');

// QuickJS's stack limit. Each QuickJS frame also takes V8's native stack (wasm frames), which is
// about 1 MiB for the whole engine: 128 KiB allows about 700 nested calls of a plain function and
// leaves V8 room for the engine's bridge at the deepest point (256 KiB did not, for Array.flat).
const STACK_BYTES = 128 * 1024;

// The watchdog's timer: the engine's own one-line script in a context of its own. It is a timer,
// not a boundary: no script code ever runs in it, only enter(), the engine's function.
// Its limit is generous (250 ms for a 50 ms deadline): the interrupt handler stops ordinary
// loops at the deadline and keeps the isolate; the watchdog, which costs the tenant its isolate,
// is for the loops QuickJS cannot see, and must not fire for a call merely descheduled on a
// busy host.
const WATCHDOG_FACTOR = 4;
const WATCHDOG_SLACK_MS = 50;
const WATCHDOG = vm.createContext(Object.create(null));
const ENTER = new vm.Script('enter()', { filename: 'keystone:watchdog' });

/**
 * A tenant's log lines a second: 100, with a burst of 200. acquire() is null when the line is
 * dropped, else a note to append (how many were dropped before it).
 */
class LogBudget {
  constructor(perSecond = 100, burst = 200, now = () => Date.now()) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.at = now();
    this.dropped = 0;
  }

  acquire() {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (t - this.at) * this.perSecond / 1000);
    this.at = t;
    if (this.tokens < 1) {
      this.dropped++;
      return null;
    }
    this.tokens -= 1;
    const note = this.dropped > 0 ? ` (${this.dropped} line(s) of this tenant dropped before this one: at most ${this.perSecond} a second)` : '';
    this.dropped = 0;
    return note;
  }
}

class TenantIsolate {
  /** A new isolate for `tenant`; options {memoryBytes, deadlineMs}. */
  static async create(tenant, options) {
    return new TenantIsolate(tenant, await newModule(options.memoryBytes), options);
  }

  constructor(tenant, { quickjs, memory, maxBytes }, { memoryBytes, deadlineMs }) {
    this.tenant = tenant;
    this.deadlineMs = deadlineMs;
    this.memoryBytes = memoryBytes;
    this.memory = memory;
    this.maxBytes = maxBytes;
    this.runtime = quickjs.newRuntime();
    this.runtime.setMemoryLimit(memoryBytes);
    this.runtime.setMaxStackSize(STACK_BYTES);
    this.deadline = 0; // while a call runs: when it must end (Date.now() ms); 0 between calls
    this.windowEnds = 0; // when the watchdog window of the current request ends (see endRequest)
    this.interrupted = false;
    this.runtime.setInterruptHandler(() => {
      if (this.deadline === 0 || Date.now() <= this.deadline) return false;
      this.interrupted = true;
      return true;
    });
    this.contexts = new Map(); // script name -> ScriptContext, or the ScriptFailure of its top level
    this.broken = null; // why this isolate must not be used again
    this.logBudget = new LogBudget();
  }

  /** The deadline restarts (describing a failure gets a deadline of its own). */
  restartDeadline() {
    this.deadline = Date.now() + this.deadlineMs;
    this.interrupted = false;
  }

  /**
   * Runs body() as one entry into the isolate, for the script file `file`: under the deadline
   * and the watchdog. Returns what body returns; throws a ScriptFailure when a limit stopped it
   * or the isolate failed (the isolate is then marked broken).
   */
  enter(file, body) {
    if (this.broken !== null) throw new ScriptFailure(`${file}: the isolate of tenant ${this.tenant} was reset (${this.broken})`, true);
    this.restartDeadline();
    const deadline = this.deadline;
    // One watchdog window per request, shared by its entries (the script's top level, init, the
    // call): a request that builds the isolate can't hold the thread three windows long (F2).
    const now = Date.now();
    if (this.windowEnds === 0 || now > this.windowEnds) this.windowEnds = now + WATCHDOG_FACTOR * this.deadlineMs + WATCHDOG_SLACK_MS;
    let result;
    WATCHDOG.enter = () => { result = body(); };
    try {
      ENTER.runInContext(WATCHDOG, { timeout: Math.max(1, this.windowEnds - now), displayErrors: false });
      // The interrupt handler only runs while bytecode runs: a call that spent its time in a
      // built-in returns late, and is a deadline failure all the same (F1).
      if (Date.now() > deadline) throw this.deadlinePassed(file);
      return result;
    } catch (e) {
      if (e instanceof ScriptFailure) throw e;
      throw this.failed(file, e);
    } finally {
      WATCHDOG.enter = undefined;
      this.deadline = 0;
      // Memory grown to its limit: some allocation failed, maybe one of the engine's own (which
      // the glue does not check); whatever the script caught, start afresh next time.
      if (this.broken === null && this.memory.buffer.byteLength + (1 << 20) > this.maxBytes) this.broken = 'its memory limit was reached';
    }
  }

  /** The request's entries are done: the next request gets a watchdog window of its own. */
  endRequest() {
    this.windowEnds = 0;
  }

  /** An exception of the engine's realm out of QuickJS: the isolate cannot be trusted any more. */
  failed(file, e) {
    if (e !== null && typeof e === 'object' && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      this.broken = `stopped by the watchdog after ${Date.now() - this.deadline + this.deadlineMs} ms`;
      return this.deadlinePassed(file);
    }
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.broken = `its WebAssembly instance failed: ${what}`;
    // V8's stack overflow (deep recursion through C built-ins) or a trap of the instance: a limit.
    return new ScriptFailure(`${file}: the script's isolate failed (${what}); it is rebuilt`, true);
  }

  deadlinePassed(file) {
    return new ScriptFailure(`${file}: deadline of ${this.deadlineMs} ms passed`, true);
  }

  /**
   * Runs the promise jobs the call queued, inside the call and under its deadline (a job's own
   * failure is the script's business, like an unhandled rejection). Jobs still queued when the
   * deadline stops them must never run later, outside a call: the isolate is marked broken.
   * Returns whether the deadline passed.
   */
  runJobs() {
    while (!this.interrupted && this.runtime.hasPendingJob()) {
      const r = this.runtime.executePendingJobs(-1);
      if (r.error) r.error.dispose();
    }
    if (this.runtime.hasPendingJob()) this.broken = 'promise jobs were left when the deadline passed';
    return this.interrupted;
  }
}

module.exports = { TenantIsolate, LogBudget, STACK_BYTES };
