'use strict';
// What the engine serves: the current script library, the script states (one vm context per
// tenant and script, made on first use, all dropped by a reload) and the tenants' key/value
// stores (kept across reloads). Mirrors engine/Engine.java and the state handling of
// engine/EngineServer.java.

const library = require('./library');
const { Stores } = require('./kv');
const { ScriptState, ScriptFailure } = require('./state');
const { wellFormed } = require('./protocol');
const response = require('./response');

// Contexts are not free (a few hundred KiB each): beyond this many, the least recently used is
// dropped and made again when needed. Scripts must not rely on globals anyway (use kv).
const MAX_STATES = 1000;

class Scripts {
  constructor({ dir, deadlineMs, log }) {
    this.dir = dir;
    this.deadlineMs = deadlineMs;
    this.log = log;
    this.stores = new Stores();
    this.states = new Map(); // "tenant\0script" -> ScriptState, or the ScriptFailure of making it
    this.library = library.load(dir, 1); // throws a LoadError: the engine does not start
  }

  /** Re-reads the directory; on any error (a LoadError lists them) the running scripts stay. */
  reload() {
    const next = library.load(this.dir, this.library.version + 1);
    this.library = next;
    this.states.clear();
    return next;
  }

  script(name) {
    return this.library.scripts.get(name);
  }

  /**
   * Runs `script` for `request` in the tenant's state: the decision (its onResponse set when the
   * script has on_response), or throws a ScriptFailure.
   */
  decide(script, request) {
    const key = `${request.tenant}\u0000${script.name}`;
    const state = this.state(key, script);
    const d = state.decide(request, this.stores.of(request.tenant));
    if (!wellFormed(d)) this.malformed(key, script, 'decision is');
    d.onResponse = state.hasOnResponse;
    return d;
  }

  /**
   * Runs the script's on_response for the response head `head` in the same state as decide: its
   * edits {status, headers}, null for a script without on_response, or throws a ScriptFailure.
   */
  respond(script, request, head) {
    const key = `${request.tenant}\u0000${script.name}`;
    const state = this.state(key, script);
    if (!state.hasOnResponse) return null;
    const e = state.respond(request, head, this.stores.of(request.tenant));
    if (!response.wellFormed(e, head.status)) this.malformed(key, script, 'response edits are');
    return e;
  }

  /** A result that breaks the rules although the API checked them: its realm's built-ins were changed. */
  malformed(key, script, what) {
    this.states.delete(key); // start afresh next time
    throw new ScriptFailure(`${script.file}: the script's ${what} malformed (were built-ins changed?)`, false);
  }

  state(key, script) {
    let s = this.states.get(key);
    if (s !== undefined) {
      this.states.delete(key); // most recently used goes last
    } else {
      try {
        s = new ScriptState(script, this.deadlineMs, this.log);
      } catch (e) {
        if (!(e instanceof ScriptFailure)) throw e;
        s = e; // kept, so a broken script is not set up again for every request
      }
      if (this.states.size >= MAX_STATES) this.states.delete(this.states.keys().next().value);
    }
    this.states.set(key, s);
    if (s instanceof ScriptFailure) throw s;
    return s;
  }
}

module.exports = { Scripts, ScriptFailure, LoadError: library.LoadError };
