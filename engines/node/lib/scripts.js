'use strict';
// What the engine serves: the current script library, the tenants' isolates (one QuickJS
// isolate per tenant, made on first use, with one context per script it runs; all dropped by a
// reload), and what each tenant keeps across reloads and rebuilt isolates: its key/value store,
// its time share and its log budget. Mirrors engine/Engine.java and the state handling of
// engine/EngineServer.java.

const library = require('./library');
const { Stores } = require('./kv');
const { TenantBudgets } = require('./budgets');
const { TenantIsolate, RequestWindow } = require('./isolate');
const { ScriptContext } = require('./script');
const { ScriptFailure } = require('./failure');
const { wellFormed, sizeProblem, foreignBackend, isObject } = require('./protocol');
const response = require('./response');
const { warmUp } = require('./warm-up');

// Beyond this many isolates, the least recently used is dropped (and made again when needed):
// each holds up to --memory-mb of QuickJS heap. Scripts must not rely on globals anyway (use kv).
const MAX_ISOLATES = 256;

class Scripts {
  /** Use Scripts.open, which loads the library (asynchronously) first. */
  constructor({ dir, deadlineMs, memoryMb = 32, timeShareMs = 500, log }, lib) {
    this.dir = dir;
    this.options = { deadlineMs, memoryBytes: memoryMb * 1024 * 1024 };
    this.timeShareMs = timeShareMs;
    this.log = log;
    this.stores = new Stores();
    this.budgets = new TenantBudgets(timeShareMs);
    this.isolates = new Map(); // tenant -> TenantIsolate, or the Promise of one being made
    this.library = lib;
    this.reloading = Promise.resolve(); // reloads run one after the other
  }

  /** The engine for options {dir, deadlineMs, memoryMb, timeShareMs, log}; a LoadError when a script does not load. */
  static async open(options) {
    const scripts = new Scripts(options, await library.load(options.dir, 1));
    const failed = await warmUp(scripts.options);
    if (failed !== null) options.log(`engine warm-up failed (the first calls may be slow): ${failed}`);
    return scripts;
  }

  /**
   * Re-reads the directory (compiling in a worker thread: requests are served meanwhile); on any
   * error (a LoadError lists them) the running scripts stay. Resolves to the new library.
   */
  reload() {
    const next = this.reloading.then(() => library.load(this.dir, this.library.version + 1)).then((lib) => {
      this.library = lib;
      this.isolates.clear();
      return lib;
    });
    this.reloading = next.catch(() => {});
    return next;
  }

  script(name) {
    return this.library.scripts.get(name);
  }

  /**
   * Runs `script` for `request` in the tenant's isolate: the decision (its onResponse set when the
   * script has on_response), or throws a ScriptFailure.
   */
  async decide(script, request) {
    const { tenant } = request;
    const call = this.callFor(script, tenant);
    const state = await this.state(tenant, script, call.window);
    call.check = (d) => this.checked(tenant, script, state, d, request.backends || []);
    return this.guarded(tenant, () => state.decide(request, call));
  }

  /**
   * Runs the script's on_response for the response head `head` in the same context as decide: its
   * edits {status, headers}, null for a script without on_response, or throws a ScriptFailure.
   */
  async respond(script, request, head) {
    const { tenant } = request;
    const call = this.callFor(script, tenant);
    const state = await this.state(tenant, script, call.window);
    if (!state.hasOnResponse) return null;
    call.check = (e) => {
      if (!response.wellFormed(e, head.status)) this.malformed(tenant, script, 'response edits are');
      return e;
    };
    return this.guarded(tenant, () => state.respond(request, head, call));
  }

  /**
   * What a call of the tenant's gets: its store, its log budget and a window of its own for the
   * request. Fails at once when the tenant has used its time share.
   */
  callFor(script, tenant) {
    const budgets = this.budgets.of(tenant);
    if (!budgets.time.available()) {
      throw new ScriptFailure(`${script.file}: the tenant's scripts used their time share (${this.timeShareMs} ms of script time a second); calls fail until it refills`, true);
    }
    return { store: this.stores.of(tenant), logs: budgets.log, window: new RequestWindow(this.options.deadlineMs, budgets.time) };
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

  /** Runs a call; an isolate it left broken is dropped, so the tenant's next call gets a new one. */
  guarded(tenant, call) {
    try {
      return call();
    } finally {
      const isolate = this.isolates.get(tenant);
      if (isolate instanceof TenantIsolate && isolate.broken !== null) {
        this.isolates.delete(tenant);
        // A line of the tenant's: it can break its isolate on every call, so its log budget applies.
        const note = this.budgets.of(tenant).log.acquire();
        if (note !== null) this.log(`tenant=${tenant} isolate dropped (${isolate.broken}); the next call builds it again${note}`);
      }
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
      if (e.limit) throw e; // a limit at the top level: tried again next time
      return e; // kept, so a broken script is not set up again for every request
    }
  }

  async isolate(tenant) {
    let i = this.isolates.get(tenant);
    if (i === undefined) {
      const version = this.library.version;
      i = TenantIsolate.create(tenant, this.options).then((made) => {
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
