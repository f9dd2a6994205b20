'use strict';
// One script of one tenant, in a QuickJS context of its own inside the tenant's isolate
// (isolate.js): its own globals, kept between calls, and the API of sandbox/*.js. Mirrors
// script/ScriptState.java and RequestScript.java.
//
// The boundary: the only function of the engine in the context is the bridge, which takes two
// strings (an operation and its arguments as JSON) and gives back one string; everything else a
// script sees was made inside the context. The engine never hands the context an object, a
// function, an error or a promise of its own, and never reads a value of the script's outside a
// call's deadline: a thrown value is described (name, message, stack) by the API's describe()
// inside the context; decisions come out as JSON text and are checked again by the engine.

const fs = require('fs');
const path = require('path');
const { ScriptFailure, thrown } = require('./failure');
const { shortText } = require('./log-text');
const { cpuMs } = require('./cpu-clock');
const { monotonic } = require('./budgets');
const jsonCost = require('./json-cost');


const MAX_LOG_LINES_PER_CALL = 20;

// The longest result (JSON text) a call may hand the engine, measured before it is copied out of
// the isolate: a decision within the limits (a 1 MiB body, which JSON may write 6 characters a
// byte, 64 KiB of headers, a path and a query of 8 KiB) always fits.
const MAX_ANSWER = 8 * 1024 * 1024;

// The API's sources, put together into one function expression: install(bridge, maxString).
const part = (name) => fs.readFileSync(path.join(__dirname, 'sandbox', `${name}.js`), 'utf8');
// A body of more characters than this crosses as code units in an ArrayBuffer (body()).
const RAW_BODY_CHARS = 64 * 1024;

const SANDBOX = `(function keystone(bridge, maxString) {
const rules = ${part('rules')}
const common = ${part('common')}
const helpers = ${part('helpers')}
const compat = ${part('compat')}
const response = ${part('response')}
return (${part('api').trim().replace(/;$/, '')})(bridge, maxString, common, helpers, compat, rules, response);
})`;
const MAX_STRING = 1 << 20; // json.encode results, as the Lua engine's string limit

/**
 * Installs the API in the new context `ctx`: its entries {init, dispatch, respond, describe}. The
 * bridge calls `target.current.bridge`, the ScriptContext the context ends up serving. `check`
 * turns an evaluation's result into its value (or throws).
 */
function installApi(ctx, target, check) {
  const install = check(ctx.evalCode(SANDBOX, 'keystone:sandbox', { type: 'global', strict: true }));
  const bridge = ctx.newFunction('bridge', (op, args) => target.current.bridge(op, args));
  const max = ctx.newNumber(MAX_STRING);
  const engine = check(ctx.callFunction(install, ctx.undefined, bridge, max));
  // Made and frozen by the API before any script code ran: reading it runs nothing of the script.
  const entries = { init: ctx.getProp(engine, 'init'), dispatch: ctx.getProp(engine, 'dispatch'),
    respond: ctx.getProp(engine, 'respond'), describe: ctx.getProp(engine, 'describe') };
  for (const h of [install, bridge, max, engine]) h.dispose();
  return entries;
}

/** A context of `isolate` with the API installed, for its first script: {ctx, entries, target}. */
function installedContext(isolate, window) {
  const ctx = isolate.runtime.newContext();
  const target = { current: null };
  const entries = isolate.enter('keystone:spare', window, () => installApi(ctx, target, (r) => {
    if (!r.error) return r.value;
    r.error.dispose();
    throw new Error('the script API did not install');
  }));
  return { ctx, entries, target };
}

class ScriptContext {
  /**
   * Makes the context in `isolate` and runs the script's top level; throws a ScriptFailure if
   * that fails or if the script defines neither on_request(req) nor on_route_request(request, backends).
   */
  constructor(isolate, script, log, window) {
    this.isolate = isolate;
    this.script = script;
    this.log = log;
    this.pending = null; // the running call's {request, store, logs, head}, for the bridge
    // A context with the API installed ahead (Scripts' spare isolate), or a new one: installing
    // the API is the engine's work, not the script's, so an entry of its own, which does not eat
    // the top level's deadline (parsing it takes 10 to 20 ms).
    const ready = isolate.takeInstalled();
    if (ready !== null) {
      this.context = ready.ctx;
      this.entries = ready.entries;
      ready.target.current = this;
    } else {
      const ctx = isolate.runtime.newContext();
      this.context = ctx;
      isolate.enter(script.file, window, () => {
        this.entries = installApi(ctx, { current: this }, (r) => this.check(r));
      });
    }
    const ctx = this.context;
    // type 'global': never a module (whose imports would reach for a module loader).
    isolate.enter(script.file, window, () => this.check(ctx.evalCode(script.source, script.file, { type: 'global' })).dispose());
    const entries = isolate.enter(script.file, window, () => this.text(ctx.callFunction(this.entries.init, ctx.undefined)));
    if (entries !== '1' && entries !== '2') {
      throw new ScriptFailure(`${script.name}: defines neither on_request(req) nor on_route_request(request, backends)`, false);
    }
    this.hasOnResponse = entries === '2';
  }

  /**
   * Runs the script for one request: the decision as sandbox/api.js made it, passed through
   * `call.check` (the engine's own checks, inside the entry and so within its deadline), or a
   * ScriptFailure. `call`: {store, logs (the tenant's LogBudget), window, check}.
   */
  decide(request, call) {
    return this.call(this.entries.dispatch, { request, ...call });
  }

  /** Runs on_response for the response head {status, backend, headers}: its edits {status, headers}, checked as for decide. */
  respond(request, head, call) {
    return this.call(this.entries.respond, { request, head, ...call });
  }

  call(entry, pending) {
    const { isolate, context: ctx, script } = this;
    return isolate.enter(script.file, pending.window, () => {
      this.pending = pending;
      try {
        const out = this.text(ctx.callFunction(entry, ctx.undefined), MAX_ANSWER);
        if (isolate.runJobs()) throw isolate.deadlinePassed(script.file);
        let r;
        try {
          r = JSON.parse(out);
        } catch (e) {
          throw new ScriptFailure(`${script.file}: the script API was tampered with`, false);
        }
        if (r.fail !== undefined) throw this.failure(r.fail);
        return pending.check(r.ok);
      } finally {
        this.pending = null;
      }
    });
  }

  /**
   * The string a call of the API gave, or a ScriptFailure for what was thrown. Its length is read
   * first: a string longer than `max` is a limit error, never copied into the engine.
   */
  text(result, max = MAX_ANSWER) {
    const ctx = this.context;
    const handle = this.check(result);
    try {
      if (ctx.typeof(handle) !== 'string') throw new ScriptFailure(`${this.script.file}: the script API was tampered with`, false);
      const length = ctx.getProp(handle, 'length');
      const n = ctx.getNumber(length);
      length.dispose();
      if (!(n <= max)) throw new ScriptFailure(`${this.script.file}: the decision is ${n} characters of JSON, above the limit of ${max}`, true);
      return ctx.getString(handle);
    } finally {
      handle.dispose();
    }
  }

  /** The value of a successful evaluation or call; for a failed one, a ScriptFailure describing it. */
  check(result) {
    if (!result.error) return result.value;
    const error = result.error;
    try {
      if (this.isolate.interrupted) throw this.isolate.deadlinePassed(this.script.file);
      throw this.describe(error);
    } finally {
      error.dispose();
    }
  }

  /** What was thrown, described inside the context under a deadline of its own (a getter may loop). */
  describe(error) {
    const { isolate, context: ctx, script } = this;
    if (this.entries === undefined) return new ScriptFailure(`${script.file}: the script API did not install`, false);
    isolate.restartDeadline();
    const r = ctx.callFunction(this.entries.describe, ctx.undefined, error);
    if (r.error) {
      r.error.dispose();
      if (isolate.interrupted) return isolate.deadlinePassed(script.file);
      // Describing failed too: most likely out of memory. Start afresh.
      isolate.broken = 'a failure could not be described (out of memory?)';
      return new ScriptFailure(`${script.file}: a value that cannot be described was thrown (memory limit of ${isolate.memoryBytes >> 20} MiB?)`, true);
    }
    const text = ctx.typeof(r.value) === 'string' ? ctx.getString(r.value) : '{}';
    r.value.dispose();
    let d;
    try {
      d = JSON.parse(text);
    } catch (e) {
      d = { message: 'a value that cannot be described was thrown' };
    }
    return this.failure(d);
  }

  /** The failure the API reported for what the script threw ({name, message, stack, limit}). */
  failure(d) {
    const isolate = this.isolate;
    // A null thrown after QuickJS ran out of memory in this entry: it could not even make its
    // "out of memory" error (round 12, N12-7: every later call failed with "null", limit false,
    // and the isolate was kept). Our build counts its failed allocations (keystone_oom_count), so
    // a script's own throw null is not taken for it (round 14, N14-6: a guess from the memory's
    // size struck a tenant whose isolate a large body had grown once).
    const e = d.message === 'null' && d.name === undefined && isolate.ranOutOfMemory()
      ? { name: 'InternalError', message: 'out of memory', stack: '' } : d;
    // An "out of memory" from an allocation refused for the deadline is the deadline's: the entry
    // replaces the isolate without a strike (TenantIsolate.enter).
    if (e.message === 'out of memory' && !isolate.refusedInEntry()) isolate.broken = 'its memory limit was reached';
    return thrown(e, this.script.file);
  }

  /**
   * The context's only way out: two strings in, one string out (JSON, which escapes NUL and lone
   * surrogates: strings cross as C strings in UTF-8; a body may come as an ArrayBuffer, body());
   * it never throws into the script.
   */
  bridge(opHandle, argsHandle) {
    const ctx = this.context;
    let out;
    try {
      const op = opHandle !== undefined && ctx.typeof(opHandle) === 'string' ? ctx.getString(opHandle) : '';
      const args = argsHandle !== undefined && ctx.typeof(argsHandle) === 'string' ? JSON.parse(ctx.getString(argsHandle)) : [];
      if (op === 'body') {
        // The engine's work, not the script's: not counted against it as a lump (isolate.js
        // engineMs), only in its time share. A client chooses the body, not the tenant.
        const started = cpuMs();
        try {
          out = this.body(Array.isArray(args) && args[0] === 'binary');
          let units = null;
          if (typeof out === 'object') {
            const { buffer, byteOffset, byteLength } = out.units;
            units = byteOffset === 0 && byteLength === buffer.byteLength ? buffer : buffer.slice(byteOffset, byteOffset + byteLength);
          }
          return units !== null ? ctx.newArrayBuffer(units) : ctx.newString(out);
        } finally {
          this.isolate.engineMs += cpuMs() - started;
        }
      } else if (op === 'params') {
        // The params' JSON text as it is (protocol.js paramsOf): sandbox/api.js parses and freezes
        // it, inside the call; asked only for a request that has params.
        const r = this.pending === null ? undefined : this.pending.request;
        out = r !== undefined && typeof r.params_json === 'string' ? r.params_json : '{}';
      } else {
        out = JSON.stringify({ ok: this.operation(op, ...(Array.isArray(args) ? args : [])) });
      }
    } catch (e) {
      out = JSON.stringify({ error: e instanceof Error ? e.message : 'engine error' });
    }
    return ctx.newString(out);
  }

  /**
   * The request's body (`binary`: as a binary string, one character per byte) for the context:
   * "S", the same string as the text (the context reuses it); "R" and the text itself (a short
   * one); or its UTF-16 code units (a binary string's bytes) in an ArrayBuffer, which the context
   * turns into a string in chunks: for a text that a C string cannot carry (a NUL ends it; a lone
   * surrogate has no UTF-8), and for a long one (a string crosses as UTF-8 encoded by the glue's
   * JavaScript: 49 ms for 1 MiB of non-ASCII text, against 12 ms to copy its code units). Sent as a JSON string literal, a 300 KB body of control characters (6 characters
   * each in JSON) took QuickJS's JSON.parse 100 ms, twice: every call of such a tenant was a lump
   * of the engine's thread, and any client could make it one (round 5, N5-4).
   */
  body(binary) {
    const r = this.pending === null ? undefined : this.pending.request;
    if (r === undefined || typeof r.body !== 'string') return 'R';
    if (binary && r.body_binary === undefined) return 'S';
    const text = binary ? r.body_binary : r.body;
    if (text.length <= RAW_BODY_CHARS && text.isWellFormed() && !text.includes('\0')) return `R${text}`;
    return { units: binary ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf16le') };
  }

  operation(op, a, b, c) {
    const p = this.pending;
    if (p === null) throw new Error(`${op.replace(/\..*/, '')} is only available while handling a request`);
    switch (op) {
      case 'request': { // without the body and the params: body() and 'params' give them
        const request = { ...p.request, has_body: typeof p.request.body === 'string', has_params: typeof p.request.params_json === 'string' };
        delete request.body;
        delete request.body_binary;
        delete request.params_json;
        return request;
      }
      case 'response': return p.head === undefined ? null : p.head;
      case 'json.cost': { // sandbox/api.js guardedParse: (length, of the body, the text or null)
        const started = cpuMs();
        try {
          let counted = null;
          if (b === true && typeof p.request.body === 'string') {
            if (p.bodyPriced === undefined) p.bodyPriced = jsonCost.priced(p.request.body);
            counted = p.bodyPriced; // the body's counting is the engine's work, as body() is
          } else if (typeof c === 'string') {
            counted = jsonCost.priced(c);
          }
          return jsonCost.refusal(number(a), counted, this.isolate.deadline - monotonic());
        } finally {
          if (b === true) this.isolate.engineMs += cpuMs() - started;
        }
      }
      case 'work.cost': // sandbox/api.js normalize, localeCompare: (characters, ns each)
        return jsonCost.workRefusal(number(a), number(b), this.isolate.deadline - monotonic());
      case 'kv.get': return p.store.get(string(a));
      case 'kv.set': return p.store.set(string(a), kvValue(b), number(c));
      case 'kv.incr': return p.store.incr(string(a), number(b), number(c));
      case 'log': {
        // At most 20 lines a call, then one line saying so, and the tenant's LogBudget (100 a
        // second, burst 200; kept by the engine, not the isolate) for every line: as Helpers.java.
        p.logged = (p.logged || 0) + 1;
        if (p.logged > MAX_LOG_LINES_PER_CALL + 1) return null;
        const note = p.logs.acquire();
        if (note === null) return null;
        // The text as a quoted field, as docs/scripting.md and the Java engine write it.
        const prefix = `tenant=${p.request.tenant} request_id=${p.request.request_id}`;
        if (p.logged > MAX_LOG_LINES_PER_CALL) this.log(`${prefix} log="(further log lines of this call dropped: at most ${MAX_LOG_LINES_PER_CALL} a call)"${note}`);
        else this.log(`${prefix} log="${shortText(String(a), undefined, true)}"${note}`);
        return null;
      }
      default: throw new Error(`unknown operation ${op}`);
    }
  }
}

function string(v) {
  if (typeof v !== 'string') throw new Error('a string is expected');
  return v;
}

function kvValue(v) {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new Error('kv values are strings, numbers or booleans');
}

function number(v) {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new Error('a number is expected');
  return v;
}

module.exports = { installedContext, ScriptContext };
