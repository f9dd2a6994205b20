'use strict';
// One script in its own vm context (one per tenant and script): its own globals, kept between
// calls, and the API of sandbox/*.js. Every entry into the context (the script's top level, then
// each call) runs with the per-call deadline. Mirrors script/ScriptState.java and RequestScript.java.
//
// The engine never touches an object made by the script outside a deadline: reading a thrown
// value's message or stack can run script code (a getter, Error.prepareStackTrace), so even that
// is done inside the context, by sandbox/api.js's describe(), which hands back JSON text.

const fs = require('fs');
const path = require('path');
const util = require('util');
const vm = require('vm');

// The API's sources, compiled once; each evaluates, in a context, to a function of that context.
const PARTS = ['common', 'helpers', 'compat', 'rules', 'response', 'api'];
const SANDBOX = Object.fromEntries(PARTS.map((name) => {
  const source = fs.readFileSync(path.join(__dirname, 'sandbox', `${name}.js`), 'utf8');
  return [name, new vm.Script(source, { filename: `keystone:${name}` })];
}));
const INIT = new vm.Script('__keystone__.init()', { filename: 'keystone:init' });
const DISPATCH = new vm.Script('__keystone__.dispatch()', { filename: 'keystone:call' });
const RESPOND = new vm.Script('__keystone__.respond()', { filename: 'keystone:respond' });
const DESCRIBE = new vm.Script('__keystone__.describeThrown()', { filename: 'keystone:describe' });
const MAX_STRING = 1 << 20; // json.encode results, as the Lua engine's string limit
const MAX_LOG = 2000;

/** A script call that failed: an error of the script, a limit hit, or a bad use of the API. */
class ScriptFailure extends Error {
  constructor(message, limit) {
    super(message);
    this.limit = limit;
  }
}

/**
 * Whether e is vm's "Script execution timed out" error, checked without running script code:
 * isNativeError is false for a Proxy, and an own data property has no getter.
 */
function isTimeout(e) {
  if (!util.types.isNativeError(e)) return false;
  const code = Object.getOwnPropertyDescriptor(e, 'code');
  return code !== undefined && code.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/** "file:LINE" of the first stack frame in the script's file, or just the file. */
function location(stack, file) {
  const text = typeof stack === 'string' ? stack : '';
  const from = text.indexOf('\n');
  const at = from < 0 ? -1 : text.indexOf(file + ':', from);
  const m = at < 0 ? null : /^:(\d+)/.exec(text.slice(at + file.length));
  return m ? `${file}:${m[1]}` : file;
}

class ScriptState {
  /**
   * Makes the context and runs the script's top level; throws a ScriptFailure if that fails or if
   * the script defines neither on_request(req) nor on_route_request(request, backends).
   */
  constructor(script, deadlineMs, log) {
    this.script = script;
    this.deadlineMs = deadlineMs;
    this.log = log;
    this.pending = null;  // what the running call may ask for through the bridge
    this.thrown = undefined; // a value thrown out of the context, until describe() reads it
    this.context = vm.createContext(Object.create(null), {
      name: script.file,
      codeGeneration: { strings: false, wasm: false }, // no eval / new Function, like Lua without load
      microtaskMode: 'afterEvaluate', // promise jobs run inside the call, under its deadline
    });
    const [common, helpers, compat, rules, response, install] = PARTS
      .map((name) => SANDBOX[name].runInContext(this.context, { displayErrors: false }));
    install((op, a, b, c) => this.bridge(op, a, b, c), MAX_STRING, common, helpers, compat, rules, response);
    this.run(script.code);
    const entries = this.run(INIT); // 1: on_request or on_route_request, 2: and on_response
    if (entries !== 1 && entries !== 2) {
      throw new ScriptFailure(`${script.name}: defines neither on_request(req) nor on_route_request(request, backends)`, false);
    }
    this.hasOnResponse = entries === 2;
  }

  /** Runs the script for one request; the decision as sandbox/api.js made it, or a ScriptFailure. */
  decide(request, store) {
    return this.call(DISPATCH, { request, store });
  }

  /** Runs on_response for the response head {status, backend, headers}: its edits {status, headers}. */
  respond(request, head, store) {
    return this.call(RESPOND, { request, store, head });
  }

  call(code, pending) {
    this.pending = pending;
    let out;
    try {
      out = this.run(code);
    } finally {
      this.pending = null;
    }
    const r = typeof out === 'string' ? JSON.parse(out) : { fail: { message: 'the script API was tampered with' } };
    if (r.fail !== undefined) throw this.failure(r.fail);
    return r.ok;
  }

  /** Runs code in the context with the deadline; anything thrown becomes a ScriptFailure. */
  run(code) {
    try {
      return code.runInContext(this.context, { timeout: this.deadlineMs, displayErrors: false });
    } catch (e) {
      throw this.asFailure(e);
    }
  }

  /** What was thrown out of the context, described inside it (under the deadline). */
  asFailure(e) {
    if (isTimeout(e)) return this.deadlinePassed();
    this.thrown = e;
    try {
      return this.failure(JSON.parse(DESCRIBE.runInContext(this.context, { timeout: this.deadlineMs, displayErrors: false })));
    } catch (again) {
      if (isTimeout(again)) return this.deadlinePassed();
      return new ScriptFailure(`${this.script.file}: a value that cannot be described was thrown`, false);
    } finally {
      this.thrown = undefined;
    }
  }

  deadlinePassed() {
    return new ScriptFailure(`${this.script.file}: deadline of ${this.deadlineMs} ms passed`, true);
  }

  /** "file.js:LINE: message" from what describe() saw; a stack overflow counts as a limit. */
  failure(d) {
    const name = typeof d.name === 'string' && d.name !== 'Error' && d.name !== 'undefined' ? `${d.name}: ` : '';
    const overflow = d.name === 'RangeError' && /call stack/.test(d.message);
    return new ScriptFailure(`${location(d.stack, this.script.file)}: ${name}${d.message}`, d.limit === true || overflow);
  }

  /** The context's only way out: primitives in, JSON text (or the body's string) out; it never throws into the script. */
  bridge(op, a, b, c) {
    if (op === 'thrown') return this.thrown; // the context's own value, back to the context
    if (op === 'body') return this.body(a === 'binary');
    try {
      return JSON.stringify({ ok: this.operation(op, a, b, c) });
    } catch (e) {
      return JSON.stringify({ error: e instanceof Error ? e.message : 'engine error' });
    }
  }

  /**
   * The request's body as a string, handed over as it is (a string is a primitive: nothing of this
   * realm comes with it), not as JSON: up to 1 MiB need not be encoded and parsed under the deadline.
   */
  body(binary) {
    const r = this.pending === null ? undefined : this.pending.request;
    const text = r === undefined ? undefined : binary ? r.body_binary ?? r.body : r.body;
    return typeof text === 'string' ? text : undefined;
  }

  operation(op, a, b, c) {
    const p = this.pending;
    if (p === null) throw new Error(`${op.replace(/\..*/, '')} is only available while handling a request`);
    switch (op) {
      case 'request': { // without the body: body() gives it
        const request = { ...p.request, has_body: typeof p.request.body === 'string' };
        delete request.body;
        delete request.body_binary;
        return request;
      }
      case 'response': return p.head === undefined ? null : p.head;
      case 'kv.get': return p.store.get(a);
      case 'kv.set': return p.store.set(a, kvValue(b), number(c));
      case 'kv.incr': return p.store.incr(a, number(b), number(c));
      case 'log': {
        const text = String(a).length > MAX_LOG ? `${String(a).slice(0, MAX_LOG)}...` : String(a);
        this.log(`tenant=${p.request.tenant} request_id=${p.request.request_id} script: ${text}`);
        return null;
      }
      default: throw new Error(`unknown operation ${op}`);
    }
  }
}

function kvValue(v) {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new Error('kv values are strings, numbers or booleans');
}

function number(v) {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new Error('a number is expected');
  return v;
}

module.exports = { ScriptState, ScriptFailure };
