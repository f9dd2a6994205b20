'use strict';
// What the engine serves: the current script library, the tenants' isolates (one QuickJS
// isolate per tenant, made on first use, with one context per script it runs; a reload drops the
// contexts of the scripts it changed), and what each tenant keeps across reloads and rebuilt isolates: its key/value store,
// its time share and its log budget. Mirrors engine/Engine.java and the state handling of
// engine/EngineServer.java.

const library = require('./library');
const { Stores, Memory, LIMITS } = require('./kv');
const { plan } = require('./memory-plan');
const { TenantBudgets, TimeShare } = require('./budgets');
const { TenantIsolate, RequestWindow } = require('./isolate');
const { ScriptContext, installedContext } = require('./script');
const { ScriptFailure } = require('./failure');
const { wellFormed, sizeProblem, foreignBackend, isObject } = require('./protocol');
const response = require('./response');
const { warmUp } = require('./warm-up');
const { Scheduler, Refused } = require('./scheduler');
const { monotonic } = require('./budgets');
const { Trim } = require('./trim');

// Beyond this many isolates, the least recently used is dropped (and made again when needed):
// each holds up to --memory-mb of QuickJS heap. Scripts must not rely on globals anyway (use kv).
const MAX_ISOLATES = 256;
// Isolates replaced after a refused allocation (no strike each) within REPLACEMENT_WINDOW_MS that
// count as one strike, and what each replacement is charged to the tenant's time share: the
// isolate built for it (10-30 ms on this machine) happens outside its calls (guarded).
const REPLACEMENTS_PER_STRIKE = 3;
const REPLACEMENT_WINDOW_MS = 10000;
const REPLACEMENT_CHARGE_MS = 20;
// The least of the gateway's deadline a call must have left when its turn comes.
const MIN_CALL_MS = 5;
// A call whose request body has more characters than this carries a client's body: its strikes
// are its tenant's `bodies` strikes (budgets.js), which hold back only such calls.
const BODY_STRIKES_FROM = 4096;
const carriesBody = (request) => typeof request.body === 'string' && request.body.length > BODY_STRIKES_FROM;

class Scripts {
  /** Use Scripts.open, which loads the library (asynchronously) first. */
  constructor({ dir, deadlineMs, memoryMb = 32, memoryBudgetMb = null, timeShareMs = 500, log }, lib) {
    this.dir = dir;
    this.memory = plan(memoryBudgetMb, memoryMb);
    this.options = { deadlineMs, memoryBytes: this.memory.isolateBytes };
    this.timeShareMs = timeShareMs;
    this.log = log;
    this.stores = new Stores({ ...LIMITS, maxBytes: this.memory.kvTenantBytes }, new Memory(this.memory.kvTotalBytes));
    this.budgets = new TenantBudgets(timeShareMs);
    this.scheduler = new Scheduler((tenant) => this.budgets.of(tenant).time.recent(), monotonic, { bytes: this.memory.waitingBytes });
    this.isolates = new Map(); // tenant -> TenantIsolate, or the Promise of one being made
    this.library = lib;
    this.reloading = Promise.resolve(); // reloads run one after the other
    this.trimmer = new Trim(this.memory.trimAtBytes, this.budgets, log, () => this.scheduler.waitingBytes);
    this.spare = null;
    this.spareTimer = null;
  }

  /**
   * The engine for options {dir, deadlineMs, memoryMb, timeShareMs, log}; a script that does not
   * load is served as failing (and listed by /health), a directory that cannot be read is a LoadError.
   */
  static async open(options) {
    const compileBytes = plan(options.memoryBudgetMb ?? null, options.memoryMb ?? 32).compileBytes;
    const lib = await library.load(options.dir, 1, { partial: true, compileBytes });
    const scripts = new Scripts(options, lib);
    const failed = await warmUp(scripts.options);
    if (failed !== null) options.log(`engine warm-up failed (the first calls may be slow): ${failed}`);
    scripts.makeSpare();
    return scripts;
  }

  /**
   * Re-reads the directory (compiling in a worker thread: requests are served meanwhile); on any
   * error (a LoadError lists them) the running scripts stay. Resolves to the new library.
   */
  reload() {
    const next = this.reloading.then(() => library.load(this.dir, this.library.version + 1, { compileBytes: this.memory.compileBytes })).then((lib) => {
      this.keepUnchanged(this.library, lib);
      this.library = lib;
      return lib;
    });
    this.reloading = next.catch(() => {});
    return next;
  }

  /**
   * After a reload from `before` to `after`: each isolate keeps its contexts of scripts whose
   * file and source did not change (their globals too); the others go, and are made again on
   * their next call. Dropping every isolate made every tenant's first call after a reload build
   * one again (13-150 ms), past the deadline on a busy host.
   */
  keepUnchanged(before, after) {
    for (const [tenant, i] of this.isolates) {
      if (!(i instanceof TenantIsolate)) {
        this.isolates.delete(tenant); // being made for the old scripts
        continue;
      }
      for (const name of [...i.contexts.keys()]) {
        const was = before.scripts.get(name);
        const now = after.scripts.get(name);
        if (was === undefined || now === undefined || was.file !== now.file || was.source !== now.source) i.contexts.delete(name);
      }
    }
  }

  script(name) {
    return this.library.scripts.get(name);
  }

  /**
   * Runs `script` for `request` in the tenant's isolate, when the scheduler gives the tenant its
   * turn: the decision (its onResponse set when the script has on_response), or throws a
   * ScriptFailure. `askedMs`: the gateway's deadline_ms for the whole call, waiting included.
   */
  decide(script, request, askedMs, bytes = 0, readMs = 0) {
    const { tenant } = request;
    this.charge(tenant, readMs);
    return this.scheduled(tenant, script, askedMs, bytes, async (deadlineMs) => {
      const withBody = carriesBody(request);
      const call = this.callFor(script, tenant, deadlineMs, askedMs, withBody);
      const state = await this.state(tenant, script, call.window);
      call.check = (d) => this.checked(tenant, script, state, d, request.backends || []);
      return this.guarded(tenant, () => state.decide(request, call), true, withBody);
    });
  }

  /**
   * Runs the script's on_response for the response head `head` in the same context as decide: its
   * edits {status, headers}, null for a script without on_response, or throws a ScriptFailure.
   */
  respond(script, request, head, askedMs, bytes = 0, readMs = 0) {
    const { tenant } = request;
    this.charge(tenant, readMs);
    return this.scheduled(tenant, script, askedMs, bytes, async (deadlineMs) => {
      const withBody = carriesBody(request);
      const call = this.callFor(script, tenant, deadlineMs, askedMs, withBody);
      const state = await this.state(tenant, script, call.window);
      if (!state.hasOnResponse) return null;
      call.check = (e) => {
        if (!response.wellFormed(e, head.status)) this.malformed(tenant, script, 'response edits are');
        return e;
      };
      return this.guarded(tenant, () => state.respond(request, head, call), true, withBody);
    });
  }

  /** The engine's work of reading a tenant's request (its JSON), charged to the tenant's time share. */
  charge(tenant, ms) {
    if (ms > 0.5) this.budgets.of(tenant).time.spend(ms);
  }

  /**
   * Runs job(deadlineMs) in the tenant's turn (scheduler.js). Its deadline is --deadline-ms, or
   * what is left of the gateway's `askedMs` after the wait when that is less: a script stopped at
   * it is answered as a limit error before the gateway gives up on the call.
   */
  scheduled(tenant, script, askedMs, bytes, job) {
    if (script.error !== undefined) return Promise.reject(new ScriptFailure(script.error, false)); // did not compile at start
    // A call needs a few milliseconds of its own: one that waited until less is left is not run
    // (the gateway is about to give up on it), and is not the tenant's failure.
    const deadlineAt = askedMs === undefined ? Infinity : monotonic() + askedMs - MIN_CALL_MS;
    const own = this.options.deadlineMs;
    return this.scheduler.run(tenant, deadlineAt, (waited) =>
      job(askedMs === undefined ? own : Math.max(1, Math.min(own, Math.round(askedMs - waited)))), bytes)
      .catch((e) => {
        throw e instanceof Refused ? new ScriptFailure(`${script.file}: ${e.message}`, e.limit) : e;
      });
  }

  /**
   * What a call of the tenant's gets: its store, its log budget and a window of its own for the
   * request (`deadlineMs` left of the gateway's `askedMs`, if it asked). Fails at once when the
   * tenant has used its time share or is held back (budgets.js strikes).
   */
  callFor(script, tenant, deadlineMs, askedMs, withBody = false) {
    const wallClock = askedMs !== undefined;
    const callMs = wallClock ? Math.min(this.options.deadlineMs, askedMs) : this.options.deadlineMs;
    const budgets = this.budgets.of(tenant);
    const refused = this.refusal(tenant, withBody);
    if (refused !== null) throw new ScriptFailure(`${script.file}: ${refused}`, true);
    return { store: this.stores.of(tenant), logs: budgets.log,
      window: new RequestWindow(deadlineMs, budgets.time, this.options.deadlineMs, wallClock, callMs) };
  }

  /**
   * Why a call of `tenant` would be refused now (a strike, budgets.js; its time share used up),
   * or null. Asked again when its turn comes (callFor); asked first, before its request is read,
   * when the gateway names the tenant (server.js).
   */
  refusal(tenant, withBody = false) {
    const budgets = this.budgets.tenants.get(tenant);
    if (budgets === undefined) return null; // no call yet: nothing to refuse it for
    const now = monotonic();
    const suspended = budgets.watchdog.refusal(now) ?? budgets.memory.refusal(now) ?? (withBody ? budgets.bodies.refusal(now) : null);
    if (suspended !== null) return suspended;
    if (!budgets.time.available()) {
      return `the tenant's scripts used their time share (${this.timeShareMs} ms of script time a second); calls fail until it refills`;
    }
    return null;
  }

  /**
   * The engine's own checks of a decision, inside the call's entry (so within its deadline and
   * watchdog), in the engine's realm: sizes first, then the rules, then the backends.
   */
  checked(tenant, script, state, d, offered) {
    const tooBig = isObject(d) ? sizeProblem(d) : null;
    if (tooBig !== null) throw new ScriptFailure(`${script.file}: ${tooBig}`, true);
    if (!wellFormed(d)) this.malformed(tenant, script, 'decision is');
    const foreign = foreignBackend(d, offered);
    if (foreign !== null) throw new ScriptFailure(`${script.file}: route_to: ${foreign}`, false);
    d.onResponse = state.hasOnResponse;
    return d;
  }

  /**
   * Runs an entry; an isolate it left broken is dropped, so the tenant's next call gets a new
   * one, and counts as a strike, as does an entry that ran far past its deadline in built-ins
   * (TenantIsolate.overran). Only a call (`isCall`) that leaves its isolate whole clears the
   * strikes: setting up the new isolate did, so the penalty never grew (round 4, N4-3). Then
   * the engine's memory is trimmed (which may drop this isolate too).
   */
  guarded(tenant, call, isCall = false, withBody = false) {
    try {
      return call();
    } finally {
      const isolate = this.isolates.get(tenant);
      if (isolate instanceof TenantIsolate) {
        let strike = isolate.broken !== null && isolate.struck ? isolate.broken : isolate.overran;
        isolate.overran = null;
        const budgets = this.budgets.of(tenant);
        // An isolate replaced after a refused allocation is no strike by itself (the deadline
        // stopped a loop in C), but a tenant doing it call after call had an isolate built for it
        // each time, outside its time share (round 17, N17-1: its neighbours' p99 doubled): each
        // is charged, and REPLACEMENTS_PER_STRIKE within REPLACEMENT_WINDOW_MS count as one. A
        // window, not a count in a row: one clean call in between cleared that (round 18, N18-1).
        if (strike === null && isolate.replacedAfterRefusal) {
          budgets.time.spend(REPLACEMENT_CHARGE_MS);
          const now = monotonic();
          const key = withBody ? 'bodyReplacements' : 'replacements';
          const recent = (budgets[key] ?? []).filter((t) => now - t < REPLACEMENT_WINDOW_MS);
          recent.push(now);
          budgets[key] = recent;
          if (recent.length >= REPLACEMENTS_PER_STRIKE) {
            strike = `its isolate was replaced after its deadline ${recent.length} times in ${REPLACEMENT_WINDOW_MS / 1000} s`;
            budgets[key] = [];
          }
        }
        const strikes = budgets[withBody ? 'bodies' : 'watchdog'];
        if (isCall || strike !== null) strikes.ended(strike, monotonic(), isolate.heldMs);
      }
      if (isolate instanceof TenantIsolate && isolate.broken !== null) {
        this.isolates.delete(tenant);
        // A line of the tenant's: it can break its isolate on every call, so its log budget applies.
        const note = this.budgets.of(tenant).log.acquire();
        if (note !== null) this.log(`tenant=${tenant} isolate dropped (${isolate.broken}); the next call builds it again${note}`);
      }
      this.trimmer.trim(this.isolates, tenant);
    }
  }

  /** A result that breaks the rules although the API checked them: its realm's built-ins were changed. */
  malformed(tenant, script, what) {
    const isolate = this.isolates.get(tenant);
    if (isolate instanceof TenantIsolate) isolate.contexts.delete(script.name); // start afresh next time
    throw new ScriptFailure(`${script.file}: the script's ${what} malformed (were built-ins changed?)`, false);
  }

  /** The tenant's context for `script`, made (with the tenant's isolate) on first use, within `window`. */
  async state(tenant, script, window) {
    const isolate = await this.isolate(tenant);
    let s = isolate.contexts.get(script.name);
    if (s === undefined) {
      s = this.guardedNew(tenant, isolate, script, window);
      isolate.contexts.set(script.name, s);
    }
    if (s instanceof ScriptFailure) throw s;
    return s;
  }

  guardedNew(tenant, isolate, script, window) {
    try {
      return this.guarded(tenant, () => new ScriptContext(isolate, script, this.log, window));
    } catch (e) {
      if (!(e instanceof ScriptFailure)) throw e;
      if (e.limit || e.busy) throw e; // a limit at the top level, or a busy engine: tried again next time
      return e; // kept, so a broken script is not set up again for every request
    }
  }

  /**
   * An isolate made ahead, with a context whose API is installed, for the next tenant without one
   * (or null while there is none): a tenant's first call then runs only its script's top level.
   * Made from scratch, an isolate took 13 to 50 ms (up to 150 ms now and then: the WebAssembly
   * memory's set-up), which missed the gateway's 50 ms timeout on the first call of every tenant
   * after an engine start (attack on the Node engine, round 2, N2-5). Made when no call waits.
   */
  makeSpare() {
    if (this.spare !== null || this.spareTimer !== null) return;
    this.spareTimer = setTimeout(async () => {
      this.spareTimer = null;
      // Making it holds the thread for 10-30 ms: only after 50 ms without a call, so that it
      // rarely falls in a burst of calls (which it would delay).
      if (this.scheduler.busy || this.scheduler.waiting > 0 || monotonic() - this.scheduler.lastStart < 50) {
        this.makeSpare();
        return;
      }
      try {
        const made = await TenantIsolate.create('(spare)', this.options);
        made.installed = installedContext(made, new RequestWindow(1000, new TimeShare(1e9)));
        this.spare = made;
      } catch (e) {
        this.log(`engine could not make a spare isolate: ${e.message}`);
      }
    }, 25);
    this.spareTimer.unref();
  }

  /** The spare isolate for `tenant` if there is one (and another is made), else a new one. */
  newIsolate(tenant) {
    const spare = this.spare;
    if (spare === null || spare.memoryBytes !== this.options.memoryBytes) return TenantIsolate.create(tenant, this.options);
    this.spare = null;
    this.makeSpare();
    spare.tenant = tenant;
    return Promise.resolve(spare);
  }

  async isolate(tenant) {
    let i = this.isolates.get(tenant);
    if (i === undefined) {
      const version = this.library.version;
      this.trimmer.beforeNew();
      i = this.newIsolate(tenant).then((made) => {
        // Still wanted (no reload, not dropped meanwhile): replace the promise with the isolate.
        if (this.isolates.get(tenant) === i && this.library.version === version) this.isolates.set(tenant, made);
        return made;
      }, (e) => {
        if (this.isolates.get(tenant) === i) this.isolates.delete(tenant);
        throw e;
      });
      if (this.isolates.size >= MAX_ISOLATES) this.isolates.delete(this.isolates.keys().next().value);
    } else {
      this.isolates.delete(tenant); // most recently used goes last
    }
    this.isolates.set(tenant, i);
    return i;
  }
}

module.exports = { Scripts, ScriptFailure, LoadError: library.LoadError };
