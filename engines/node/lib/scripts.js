'use strict';
// What the engine serves: the current script library, the tenants' isolates (one QuickJS
// isolate per tenant, made on first use, with one context per script it runs; all dropped by a
// reload) and the tenants' key/value stores (kept across reloads and rebuilt isolates). Mirrors
// engine/Engine.java and the state handling of engine/EngineServer.java.

const library = require('./library');
const { newModule } = require('./quickjs');
const { Stores } = require('./kv');
const { TenantIsolate } = require('./isolate');
const { ScriptContext } = require('./script');
const { ScriptFailure } = require('./failure');
const { wellFormed, sizeProblem, foreignBackend, isObject } = require('./protocol');
const response = require('./response');

// Beyond this many isolates, the least recently used is dropped (and made again when needed):
// each holds up to --memory-mb of QuickJS heap. Scripts must not rely on globals anyway (use kv).
const MAX_ISOLATES = 256;

class Scripts {
  /** Loads the scripts of `dir` (a LoadError stops the engine); use Scripts.open, which is async. */
  constructor({ dir, deadlineMs, memoryMb = 32, log, checker }) {
    this.dir = dir;
    this.options = { deadlineMs, memoryBytes: memoryMb * 1024 * 1024 };
    this.log = log;
    this.checker = checker; // a QuickJS module of its own, for compiling scripts at (re)load
    this.stores = new Stores();
    this.isolates = new Map(); // tenant -> TenantIsolate, or the Promise of one being made
    this.library = library.load(checker, dir, 1);
  }

  static async open(options) {
    return new Scripts({ ...options, checker: (await newModule(64 * 1024 * 1024)).quickjs });
  }

  /** Re-reads the directory; on any error (a LoadError lists them) the running scripts stay. */
  reload() {
    const next = library.load(this.checker, this.dir, this.library.version + 1);
    this.library = next;
    this.isolates.clear();
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
    const isolate = await this.isolate(request.tenant);
    try {
      return await this.decideIn(script, request);
    } finally {
      isolate.endRequest(); // the request's entries (top level, init, call) shared one watchdog window
    }
  }

  async decideIn(script, request) {
    const state = await this.state(request.tenant, script);
    const d = this.guarded(request.tenant, () => state.decide(request, this.stores.of(request.tenant)));
    const tooBig = isObject(d) ? sizeProblem(d) : null;
    if (tooBig !== null) throw new ScriptFailure(`${script.file}: ${tooBig}`, true);
    if (!wellFormed(d)) this.malformed(request.tenant, script, 'decision is');
    const foreign = foreignBackend(d, request.backends || []);
    if (foreign !== null) throw new ScriptFailure(`${script.file}: route_to: ${foreign}`, false);
    d.onResponse = state.hasOnResponse;
    return d;
  }

  /**
   * Runs the script's on_response for the response head `head` in the same context as decide: its
   * edits {status, headers}, null for a script without on_response, or throws a ScriptFailure.
   */
  async respond(script, request, head) {
    const state = await this.state(request.tenant, script);
    if (!state.hasOnResponse) return null;
    const e = this.guarded(request.tenant, () => state.respond(request, head, this.stores.of(request.tenant)));
    if (!response.wellFormed(e, head.status)) this.malformed(request.tenant, script, 'response edits are');
    return e;
  }

  /** Runs a call; an isolate it left broken is dropped, so the tenant's next call gets a new one. */
  guarded(tenant, call) {
    try {
      return call();
    } finally {
      const isolate = this.isolates.get(tenant);
      if (isolate instanceof TenantIsolate && isolate.broken !== null) {
        this.isolates.delete(tenant);
        this.log(`tenant=${tenant} isolate dropped (${isolate.broken}); the next call builds it again`);
      }
    }
  }

  /** A result that breaks the rules although the API checked them: its realm's built-ins were changed. */
  malformed(tenant, script, what) {
    const isolate = this.isolates.get(tenant);
    if (isolate instanceof TenantIsolate) isolate.contexts.delete(script.name); // start afresh next time
    throw new ScriptFailure(`${script.file}: the script's ${what} malformed (were built-ins changed?)`, false);
  }

  /** The tenant's context for `script`, made (with the tenant's isolate) on first use. */
  async state(tenant, script) {
    const isolate = await this.isolate(tenant);
    let s = isolate.contexts.get(script.name);
    if (s === undefined) {
      s = this.guardedNew(tenant, isolate, script);
      isolate.contexts.set(script.name, s);
    }
    if (s instanceof ScriptFailure) throw s;
    return s;
  }

  guardedNew(tenant, isolate, script) {
    try {
      return this.guarded(tenant, () => new ScriptContext(isolate, script, this.log));
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
