'use strict';
// One tenant's isolate: a QuickJS module instance of its own (its own WebAssembly memory, see
// quickjs.js), one runtime in it with the tenant's limits, and one context per script the tenant
// runs (script.js). Tenants never share a module, runtime, context or kv store.
//
// The limits of every entry into the isolate (installing the API, a script's top level, each call):
// - the memory limit (--memory-mb): the instance's WebAssembly memory cannot grow beyond it
//   (quickjs.js), and QuickJS throws "out of memory";
// - the stack limit of the runtime (STACK_BYTES): QuickJS throws "stack overflow";
// - the deadline (--deadline-ms), by QuickJS's interrupt handler: an uncatchable "interrupted";
// - the watchdog, for what the interrupt handler cannot stop: our QuickJS build asks it in
//   bytecode and in most built-ins' loops, reading the clock (quickjs/README.md), but a few
//   built-ins still run in C without asking (a typed array's sort). vm's timeout makes V8
//   terminate whatever runs, the wasm included; the isolate, stopped in the middle of C code, is
//   then thrown away. Its window is per request (RequestWindow), shared by the request's entries;
// - when an entry returns, whether its deadline passed (a built-in ran past it): a limit error;
// - each entry's CPU time is charged to the tenant's time share (budgets.js): past it, the
//   tenant's calls fail at once (scripts.js).
// The deadline is wall-clock time and CPU time (overdue()): a call merely descheduled on a busy
// host is not stopped for it.
// An isolate that may be left broken (out of memory, the watchdog, a trap, V8's own stack
// overflow, promise jobs left over after the deadline) is marked `broken`; the engine drops it
// and the tenant's next call builds a new one, which runs its scripts' top level again.

const vm = require('vm');
const { newModule } = require('./quickjs');
const { ScriptFailure } = require('./failure');
const { monotonic } = require('./budgets');
const { cpuMs } = require('./cpu-clock');

// QuickJS's stack limit. Each QuickJS frame also takes V8's native stack (wasm frames), which is
// about 1 MiB for the whole engine: 128 KiB allows about 1,100 nested calls of a plain function in
// our build (-O1) and leaves V8 room for the engine's bridge at the deepest point.
const STACK_BYTES = 128 * 1024;

// The watchdog's timer: the engine's own one-line script in a context of its own. It is a timer,
// not a boundary: no script code ever runs in it, only enter(), the engine's function.
// Its limit is generous (250 ms for a 50 ms deadline): the interrupt handler stops ordinary
// loops at the deadline and keeps the isolate; the watchdog, which costs the tenant its isolate,
// is for the loops QuickJS cannot see, and must not fire for a call merely descheduled on a
// busy host.
const WATCHDOG_FACTOR = 4;
const WATCHDOG_SLACK_MS = 50;
// An entry whose CPU time passed twice its deadline (and a little) held the thread in built-ins
// the interrupt handler cannot stop (the npm build asked it once every 10,000 steps of bytecode:
// twenty 1 MiB fill()s ran 80-100 ms past a 35 ms deadline), short of the watchdog: its tenant is held
// back as if the watchdog had stopped it (budgets.js). Rebuilding 20 MiB on every call, twenty
// tenants took half the thread in such lumps (round 5, N5-1). CPU time, so a call descheduled
// on a busy host does not count; and twice the deadline the call was asked for, not what its
// wait for its turn left of it (which other tenants' calls shortened).
const OVERRUN_FACTOR = 2;
const NEW_ISOLATE_BYTES = 1024 * 1024;
const OVERRUN_SLACK_MS = 10;
const WATCHDOG = vm.createContext(Object.create(null));
const ENTER = new vm.Script('enter()', { filename: 'keystone:watchdog' });

/**
 * What one request may use of the engine's thread: one watchdog window (WATCHDOG_FACTOR deadlines
 * plus WATCHDOG_SLACK_MS) for all its entries into the isolate together (installing the API, the
 * script's top level, init, the call, describing a failure), each entry's time also charged to
 * the tenant's time share (budgets.js). Without it, a request that builds a context would get a
 * window per entry. Only the entries' own time counts, not other requests' work in between.
 */
class RequestWindow {
  /**
   * `deadlineMs`: each entry's deadline (--deadline-ms, or less when the gateway asked for less).
   * `engineDeadlineMs`: the engine's own, which sizes the watchdog's window (a shorter deadline
   * must not shorten the backstop: a light call descheduled behind others was stopped by it,
   * round 4, N4-4). `wallClock`: the gateway waits for the answer no longer than its deadline,
   * so the deadline is wall-clock time only (not also CPU time: a looping call answered 45-55 ms
   * after a 40 ms deadline, past the gateway's 50 ms, round 4, N4-1).
   */
  constructor(deadlineMs, share, engineDeadlineMs = deadlineMs, wallClock = false, callMs = deadlineMs) {
    this.deadlineMs = deadlineMs;
    this.callMs = callMs; // the deadline the call was asked for, before it waited its turn (OVERRUN_FACTOR)
    this.leftMs = WATCHDOG_FACTOR * Math.max(deadlineMs, engineDeadlineMs) + WATCHDOG_SLACK_MS;
    this.share = share;
    this.wallClock = wallClock;
  }

  /** An entry of the request took `wallMs`, `cpuMs` of them on the CPU (what the share is charged). */
  spend(wallMs, cpuMs) {
    this.leftMs -= wallMs;
    this.share.spend(cpuMs);
  }
}

class TenantIsolate {
  /** A new isolate for `tenant`; options {memoryBytes, deadlineMs}. */
  static async create(tenant, options) {
    return new TenantIsolate(tenant, await newModule(options.memoryBytes), options);
  }

  constructor(tenant, { quickjs, memory, maxBytes, base = null }, { memoryBytes, deadlineMs }) {
    this.tenant = tenant;
    this.deadlineMs = deadlineMs;
    this.memoryBytes = memoryBytes;
    this.memory = memory;
    this.maxBytes = maxBytes;
    this.runtime = quickjs.newRuntime();
    this.runtime.setMemoryLimit(memoryBytes);
    this.runtime.setMaxStackSize(STACK_BYTES);
    // While an entry runs: when it must end (monotonic ms) and the thread's CPU time (cpu-clock.js)
    // by then, and when its request's window ends (no deadline goes past it); 0 between entries.
    this.deadline = 0;
    this.cpuDeadline = 0;
    this.windowEnds = 0;
    this.callDeadlineMs = deadlineMs; // the running entry's deadline (its request's, RequestWindow)
    this.wallClock = false; // the running entry's deadline is wall-clock time only (RequestWindow)
    this.interrupted = false;
    // Our QuickJS build reads the clock in its built-ins' polls and asks the handler below as soon
    // as this deadline has passed by it (quickjs/keystone.patch: counting polls bounded nothing).
    this.setClockDeadline = (ms) => quickjs.module._keystone_set_deadline(this.runtime.rt.value, ms);
    // How many times QuickJS ran out of memory (its limit) in this isolate, and that count when
    // the running entry began: a null thrown after that is the out-of-memory error it could not make.
    this.oomCount = () => quickjs.module._keystone_oom_count(this.runtime.rt.value);
    this.oomAtEntry = 0;
    // How many allocations our build refused for a deadline (the last resort for loops in C), and
    // that count when the running entry began. QuickJS's out-of-memory paths are not all sound (a
    // double free, compiler assertions, a context left without JSON: attack round 16), so an
    // isolate in which one was refused is replaced after the entry, not held against the tenant.
    this.refusalCount = () => quickjs.module._keystone_refusal_count(this.runtime.rt.value);
    this.refusalsAtEntry = 0;
    this.replacedAfterRefusal = false; // broken only because an allocation was refused (Scripts.guarded counts those)
    this.runtime.setInterruptHandler(() => {
      if (this.deadline === 0 || !this.overdue()) return false;
      this.interrupted = true;
      return true;
    });
    this.contexts = new Map(); // script name -> ScriptContext, or the ScriptFailure of its top level
    this.installed = null; // a context with the API installed ahead, for the first script (spare isolates)
    this.broken = null; // why this isolate must not be used again
    this.struck = true; // when broken: whether the tenant held the thread for it (then suspended: budgets.js)
    this.overran = null; // why the last entry held the thread far past its deadline, though the isolate is whole (the same)
    // What it holds resident, read from its memory's mapping when the engine's memory is short
    // (trim.js, resident.js); `base` null (not Linux, or the mapping not found): counted as small.
    this.base = base;
    this.resident = NEW_ISOLATE_BYTES;
    this.engineMs = 0; // CPU time of the running entry spent on the engine's own work (a body crossing in)
    this.heldMs = 0;
  }

  /** The context made ahead (script.js installedContext), once; null when there is none. */
  takeInstalled() {
    const i = this.installed;
    this.installed = null;
    return i;
  }

  /** The deadline restarts (describing a failure gets a deadline of its own), within the request's window. */
  restartDeadline() {
    const now = monotonic();
    this.deadline = Math.min(now + this.callDeadlineMs, this.windowEnds);
    this.cpuDeadline = cpuMs() + (this.deadline - now);
    this.interrupted = false;
    this.setClockDeadline(Math.max(0, this.deadline - now));
  }

  /**
   * Whether the running entry is past its deadline: the wall-clock time AND the thread's CPU time
   * (the CPU clock is read only once the wall clock says so). A call descheduled on a busy host
   * is not late for that; a call that used its time, in bytecode or in a built-in, is.
   */
  overdue() {
    return monotonic() > this.deadline && (this.wallClock || cpuMs() > this.cpuDeadline);
  }

  /**
   * Runs body() as one entry into the isolate, for the script file `file` and the request whose
   * RequestWindow is `window`: under the deadline and the watchdog, its time charged to the
   * tenant's time share. Returns what body returns; throws a ScriptFailure when a limit stopped it
   * or the isolate failed (the isolate is then marked broken).
   */
  enter(file, window, body) {
    if (this.broken !== null) throw new ScriptFailure(`${file}: the isolate of tenant ${this.tenant} was reset (${this.broken})`, true);
    if (window.leftMs <= 0) throw this.deadlinePassed(file); // the request's earlier entries used its window
    const started = monotonic();
    const cpuStarted = cpuMs();
    this.engineMs = 0;
    this.windowEnds = started + window.leftMs;
    this.callDeadlineMs = window.deadlineMs;
    this.wallClock = window.wallClock;
    this.oomAtEntry = this.oomCount();
    this.refusalsAtEntry = this.refusalCount();
    this.restartDeadline();
    let result;
    WATCHDOG.enter = () => { result = body(); };
    try {
      ENTER.runInContext(WATCHDOG, { timeout: Math.max(1, Math.ceil(window.leftMs)), displayErrors: false });
      // The interrupt handler only runs while bytecode runs: an entry that spent its time in a
      // built-in (or in the engine's checks of its result) returns late, and is a deadline
      // failure all the same. this.deadline, not a copy: describing a failure restarts it.
      if (this.overdue()) throw this.deadlinePassed(file);
      return result;
    } catch (e) {
      // A script error raised after the deadline passed in a built-in is a late entry too.
      if (e instanceof ScriptFailure) throw e.limit || !this.overdue() ? e : this.deadlinePassed(file);
      throw this.failed(file, e, cpuMs() - cpuStarted);
    } finally {
      WATCHDOG.enter = undefined;
      this.deadline = 0;
      if (this.broken === null) this.setClockDeadline(-1);
      this.windowEnds = 0;
      const cpuUsed = cpuMs() - cpuStarted;
      window.spend(monotonic() - started, cpuUsed);
      const scriptCpu = cpuUsed - this.engineMs;
      this.heldMs = scriptCpu; // what the entry held the thread for (Scripts.guarded: a strike's length)
      // (an instance that failed after a refused allocation is no strike, but holding the thread
      // before it is: round 17, N17-2)
      if ((this.broken === null || this.replacedAfterRefusal) && scriptCpu >= OVERRUN_FACTOR * window.callMs + OVERRUN_SLACK_MS) {
        this.overran = `it ran ${Math.round(scriptCpu)} ms of CPU in one entry, its deadline ${window.callMs} ms`;
      }
      // Memory grown to its limit: some allocation failed, maybe one of the engine's own (which
      // the glue does not check); whatever the script caught, start afresh next time.
      if (this.broken === null && this.memory.buffer.byteLength + (1 << 20) > this.maxBytes) this.broken = 'its memory limit was reached';
      if (this.refusedInEntry() && this.broken === null) {
        this.broken = 'stopped at its deadline inside a built-in';
        this.struck = false;
        this.replacedAfterRefusal = true;
      }
    }
  }

  /** Whether our build refused an allocation for the deadline since the running (or last) entry began. */
  refusedInEntry() {
    try {
      return this.refusalCount() !== this.refusalsAtEntry;
    } catch (e) {
      return false; // the instance cannot even be asked
    }
  }

  /** Whether QuickJS ran out of memory since the running (or last) entry began. */
  ranOutOfMemory() {
    return this.oomCount() !== this.oomAtEntry;
  }

  /** An exception of the engine's realm out of QuickJS: the isolate cannot be trusted any more. */
  failed(file, e, cpuUsedMs) {
    if (e !== null && typeof e === 'object' && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      this.broken = 'stopped by the watchdog (its request used its window)';
      // The watchdog counts wall-clock time: only an entry that also used its deadline's worth of
      // CPU held the thread (a loop inside a built-in); one descheduled on a busy host did not.
      this.struck = cpuUsedMs >= this.deadlineMs;
      return this.deadlinePassed(file);
    }
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    if (this.refusedInEntry()) {
      // QuickJS failed on the way out of an allocation refused for the deadline: the deadline
      // stopped it, not the tenant (attack round 16).
      this.broken = `its WebAssembly instance failed after its deadline: ${what}`;
      this.struck = false;
      this.replacedAfterRefusal = true;
      return this.deadlinePassed(file);
    }
    this.broken = `its WebAssembly instance failed: ${what}`;
    // V8's stack overflow (deep recursion through C built-ins) or a trap of the instance: a limit.
    return new ScriptFailure(`${file}: the script's isolate failed (${what}); it is rebuilt`, true);
  }

  /**
   * The deadline error. With the gateway's wall-clock deadline, a call that did not use its
   * deadline's worth of CPU was slowed by the host or the engine, not by its script: not a limit
   * of the tenant's (which would count against the tenant's own circuit in the gateway).
   */
  deadlinePassed(file) {
    if (this.wallClock && this.cpuDeadline !== 0 && cpuMs() <= this.cpuDeadline) {
      const f = new ScriptFailure(`${file}: deadline of ${this.callDeadlineMs} ms passed while the engine was busy`, false);
      f.busy = true; // not the script's doing: never kept as its failure (Scripts.guardedNew)
      return f;
    }
    return new ScriptFailure(`${file}: deadline of ${this.callDeadlineMs} ms passed`, true);
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

module.exports = { TenantIsolate, RequestWindow, STACK_BYTES };
