// Runs inside each tenant's QuickJS context, NOT as a Node module (see README.md here): evaluates
// to install(bridge, maxString, common, helpers, compat, rules, response), which defines the
// script API as globals (route_to, respond, reject, the helpers) and RETURNS the engine's way in
// (never a global): init() after the script's top level, dispatch() per request, respond() per
// response head, describe(e) for a failure; each returns a string. `bridge(op, argsJson)` is the
// only function of the engine in the context: a string in, a string out. Mirrors
// src/main/java/dev/keystone/script/RequestScript.java; docs/scripting.md is the API.
(function install(bridge, maxString, common, helpers, compat, rules, response) {
  'use strict';
  const G = globalThis;
  const { parse, stringify } = JSON;
  const { fromCharCode } = String;
  const { apply } = Reflect;
  const [U8, U16] = [Uint8Array, Uint16Array];
  const { defineProperty, freeze, keys } = Object;
  const u = common(rules());
  const { Err, str, optStr, num, dict, put, typeName, headerName, headerValue, queryTable, backendTable } = u;

  // Nothing that runs after the call (outside its deadline) or that blocks the thread.
  for (const name of ['console', 'FinalizationRegistry', 'WeakRef', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'std', 'os']) {
    delete G[name];
  }

  /** The engine: JSON text in and out; its errors become errors of this realm. */
  function host(op, a, b, c) {
    const r = parse(bridge(op, stringify([a, b, c])));
    if (r.error !== undefined) throw new Err(r.error);
    return r.ok;
  }

  // ---- JSON.parse, priced before it runs (lib/json-cost.js) ---------------------------------
  // It ran in C without asking for the deadline (the npm build): a client's 990 KB body of
  // 330,000 empty arrays held the engine's thread 150-200 ms, and the tenant that parsed it was
  // penalised for the lump (round 8, N8-1). Our build asks at every value, so such a parse now
  // stops at the deadline; pricing it first turns that into an error the script can answer (413)
  // before any time is spent. A text of more than PARSE_FREE characters is parsed only when what it
  // may cost fits in what is left of the call's deadline: the engine prices the request's body
  // (it has it) and any other text up to MAX_PRICED characters (sent to it); a longer one at the
  // worst case. Else an error the script may catch, not a limit: nothing ran long.
  const PARSE_FREE = 8 * 1024;
  const MAX_PRICED = 1024 * 1024;
  let bodyText; // the running call's req.body
  function guardedParse(text, reviver) {
    const s = typeof text === 'string' ? text : `${text}`;
    if (s.length > PARSE_FREE) {
      const body = s === bodyText;
      const refused = host('json.cost', s.length, body, body || s.length > MAX_PRICED ? null : s);
      if (refused !== null) throw new Err(`JSON.parse: ${refused}`);
    }
    return parse(s, reviver);
  }
  defineProperty(guardedParse, 'name', { value: 'parse' });
  defineProperty(JSON, 'parse', { value: guardedParse, writable: true, enumerable: false, configurable: true });

  // Other built-ins that run in C over a whole input (round 10, N10-2: a client's list of 100,000
  // strings sorted 87 ms past a 35 ms deadline, normalize('NFKC') of 1 MB took 291 ms): a long
  // array is sorted here, in bytecode, which the deadline stops (QuickJS's own sort, stopped in
  // a comparator, still finishes its pass in C); normalize prices a long text first (300 ns a
  // character) as JSON.parse does.
  const { sort: nativeSort } = Array.prototype;
  const { normalize: nativeNormalize, localeCompare: nativeLocaleCompare } = String.prototype;
  const { isArray } = Array;
  const SORT_FREE = 16384; // QuickJS sorts this many strings in about 15 ms
  function defaultOrder(a, b) { // by the values as strings, code unit by code unit
    const x = `${a}`;
    const y = `${b}`;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function mergeSort(items, order) { // stable, as Array.prototype.sort must be
    let from = items;
    let to = new Array(items.length);
    for (let width = 1; width < items.length; width *= 2) {
      for (let lo = 0; lo < items.length; lo += 2 * width) {
        const mid = Math.min(lo + width, items.length);
        const hi = Math.min(lo + 2 * width, items.length);
        let i = lo;
        let j = mid;
        let k = lo;
        while (i < mid && j < hi) to[k++] = order(from[j], from[i]) < 0 ? from[j++] : from[i++];
        while (i < mid) to[k++] = from[i++];
        while (j < hi) to[k++] = from[j++];
      }
      [from, to] = [to, from];
    }
    return from;
  }
  function sort(compare) {
    const o = this;
    if ((compare !== undefined && typeof compare !== 'function') || !isArray(o) || o.length <= SORT_FREE) {
      return apply(nativeSort, o, [compare]);
    }
    const n = o.length;
    const items = [];
    for (let i = 0; i < n; i++) {
      if (!(i in o)) return apply(nativeSort, o, [compare]); // holes: QuickJS's own
      if (o[i] !== undefined) items.push(o[i]);
    }
    const order = compare === undefined ? defaultOrder : (a, b) => {
      const r = +compare(a, b);
      return r === r ? r : 0;
    };
    const sorted = mergeSort(items, order);
    for (let i = 0; i < n; i++) o[i] = i < sorted.length ? sorted[i] : undefined; // undefined last
    return o;
  }
  function normalize(form) {
    if (typeof this === 'string' && this.length > PARSE_FREE) {
      const refused = host('work.cost', this.length, 300);
      if (refused !== null) throw new Err(`normalize: ${refused}`);
    }
    return apply(nativeNormalize, this, [form]);
  }
  // localeCompare normalises both texts in C on every call, with no deadline asked inside one:
  // about 850 ns a character (Hangul; round 12, N12-3). Priced first at 1,000 when long.
  function localeCompare(that, ...rest) {
    const other = `${that}`;
    if (typeof this === 'string' && this.length + other.length > PARSE_FREE) {
      const refused = host('work.cost', this.length + other.length, 1000);
      if (refused !== null) throw new Err(`localeCompare: ${refused}`);
    }
    return apply(nativeLocaleCompare, this, [other, ...rest]);
  }
  // QuickJS searches a string for another in C, comparing at every position (text x needle),
  // where the deadline is not asked: a client's 1 MB body searched for an 8,000-character header
  // value ran into the watchdog, and the tenant was refused for it. A search that may cost more
  // than SEARCH_FREE comparisons (about 25 ms) runs here instead, in bytecode, in linear time
  // (Knuth-Morris-Pratt), which the deadline stops; same answers.
  const SEARCH_FREE = 20000000;
  const SP = String.prototype;
  const native = { indexOf: SP.indexOf, includes: SP.includes, split: SP.split, replace: SP.replace, replaceAll: SP.replaceAll };
  const { charCodeAt, slice: sliceOf } = SP;
  const at = (t, i) => apply(charCodeAt, t, [i]);
  const cut = (t, a, b) => apply(sliceOf, t, [a, b]);
  function prefixTable(needle) {
    const table = new Int32Array(needle.length);
    for (let i = 1, k = 0; i < needle.length; i++) {
      while (k > 0 && at(needle, i) !== at(needle, k)) k = table[k - 1];
      if (at(needle, i) === at(needle, k)) k++;
      table[i] = k;
    }
    return table;
  }
  function find(text, needle, table, from) {
    for (let i = from, k = 0; i < text.length; i++) {
      while (k > 0 && at(text, i) !== at(needle, k)) k = table[k - 1];
      if (at(text, i) === at(needle, k)) k++;
      if (k === needle.length) return i - k + 1;
    }
    return -1;
  }
  // What a string replacement makes of a match (GetSubstitution without captures).
  function substitute(text, matched, pos, replacement) {
    return apply(native.replace, replacement, [/\$([$&`'])/g, (all, c) => (c === '$' ? '$' : c === '&' ? matched
      : c === '`' ? cut(text, 0, pos) : cut(text, pos + matched.length))]);
  }
  function stringMethod(name, slow) {
    const fast = native[name];
    const f = function (search, ...rest) {
      if (typeof this !== 'string' || typeof search !== 'string' || search.length < 2 || this.length * search.length <= SEARCH_FREE) {
        return apply(fast, this, [search, ...rest]);
      }
      return slow(this, search, prefixTable(search), rest);
    };
    defineProperty(f, 'name', { value: name });
    defineProperty(f, 'length', { value: fast.length });
    defineProperty(SP, name, { value: f, writable: true, enumerable: false, configurable: true });
  }
  const position = (v, t) => Math.min(Math.max(0, Math.trunc(+v || 0)), t.length);
  function replacing(t, n, table, replacement, all) {
    const call = typeof replacement === 'function';
    const text = call ? null : `${replacement}`;
    let out = '';
    let from = 0;
    for (let k = find(t, n, table, 0); k >= 0; k = all ? find(t, n, table, k + n.length) : -1) {
      out += cut(t, from, k) + (call ? `${replacement(n, k, t)}` : substitute(t, n, k, text));
      from = k + n.length;
      if (!all) break;
    }
    return out + cut(t, from);
  }
  stringMethod('indexOf', (t, n, table, [pos]) => find(t, n, table, position(pos, t)));
  stringMethod('includes', (t, n, table, [pos]) => find(t, n, table, position(pos, t)) >= 0);
  stringMethod('split', (t, n, table, [limit]) => {
    const most = limit === undefined ? 2 ** 32 - 1 : limit >>> 0;
    const out = [];
    if (most === 0) return out;
    let from = 0;
    for (let k = find(t, n, table, 0); k >= 0; k = find(t, n, table, from)) {
      out.push(cut(t, from, k));
      if (out.length >= most) return out;
      from = k + n.length;
    }
    out.push(cut(t, from));
    return out;
  });
  stringMethod('replace', (t, n, table, [replacement]) => replacing(t, n, table, replacement, false));
  stringMethod('replaceAll', (t, n, table, [replacement]) => replacing(t, n, table, replacement, true));
  defineProperty(Array.prototype, 'sort', { value: sort, writable: true, enumerable: false, configurable: true });
  defineProperty(String.prototype, 'normalize', { value: normalize, writable: true, enumerable: false, configurable: true });
  defineProperty(String.prototype, 'localeCompare', { value: localeCompare, writable: true, enumerable: false, configurable: true });

  let decision = null; // what the running call decided so far
  let edit = null; // puts the running call's header edits, within their limits (common.headerEdits)
  let current = null; // the running call's request, as the engine sent it

  // ---- decisions: the last call wins --------------------------------------------------------
  function status(v, min, max, fn) {
    const s = num(v, fn, 1);
    if (!Number.isInteger(s) || s < min || s > max) throw new Err(`${fn}: status must be between ${min} and ${max}, got ${s}`);
    return s;
  }
  // route_to, respond and reject decide a request: only within on_request (on_response: an error).
  function deciding(fn) {
    if (decision === null) throw new Err(`${fn}: only on_request decides (not on_response, not the top level)`);
  }
  function routeTo(target) {
    deciding('route_to');
    let matches;
    let name;
    if (typeof target === 'string' || typeof target === 'number') {
      name = String(target);
      matches = current.backends.filter((b) => b.name === name);
      if (matches.length === 0) throw new Err(`route_to: tenant ${current.tenant} has no backend named '${name}'`);
    } else if (target !== null && typeof target === 'object') {
      const wanted = dict(); // a label set to null/undefined is left out, as nil is in a Lua table
      for (const k of keys(target)) if (target[k] !== undefined && target[k] !== null) put(wanted, k, String(target[k]));
      name = `{${keys(wanted).map((k) => `${k}=${wanted[k]}`).join(', ')}}`;
      matches = current.backends.filter((b) => keys(wanted).every((k) => b.labels[k] === wanted[k]));
      if (matches.length === 0) throw new Err(`route_to: no backend of tenant ${current.tenant} has the labels ${name}`);
    } else {
      throw new Err(`route_to: expected a backend name or a table of labels, got ${typeName(target)}`);
    }
    Object.assign(decision, { kind: 'route', target: name, backends: matches.map((b) => b.name) });
    return true;
  }
  // A body or reason: at most maxString characters (the 1 MiB a Lua script's strings may have).
  function text(v, fn, what, dflt) {
    const t = optStr(v, fn, 2, dflt);
    if (t.length > maxString) throw u.limit(`${fn}: a ${what} of ${t.length} characters is above the limit of ${maxString}`);
    return t;
  }
  function respond(s, body, headers) {
    deciding('respond');
    // 1xx are interim answers: one as the final answer would desynchronise the client's connection.
    const d = { kind: 'respond', status: status(s, 200, 599, 'respond'), body: text(body, 'respond', 'body', ''), headers: dict() };
    if (headers !== null && typeof headers === 'object') {
      for (const k of keys(headers)) edit(d.headers, headerName(k, 'respond'), headerValue(headers[k], 'respond', 3));
    }
    Object.assign(decision, d);
    return true;
  }
  function reject(s, reason) {
    deciding('reject');
    Object.assign(decision, { status: status(s, 400, 599, 'reject'), reason: text(reason, 'reject', 'reason', 'rejected'), kind: 'reject' });
    return true;
  }

  // ---- req: the request's fields and its edits ----------------------------------------------
  // The raw bytes of a body sent as a "binary string" (one char per byte, codes 0-255).
  function bytesOf(binary) {
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }
  // A body as the engine sends it (lib/script.js body()): "R" and the text, or an ArrayBuffer of
  // its UTF-16 code units (`binary`: one byte a character), made a string 8,192 at a time.
  function bodyOf(sent, binary) {
    if (typeof sent === 'string') return sent.slice(1);
    const units = binary ? new U8(sent) : new U16(sent);
    let out = '';
    for (let i = 0; i < units.length; i += 8192) out += apply(fromCharCode, null, units.subarray(i, i + 8192));
    return out;
  }
  function makeReq(r, params) {
    // The body's strings are taken now (they are not copied); req.body_bytes is made on first use.
    const body = r.has_body ? bodyOf(bridge('body', '[]'), false) : undefined;
    bodyText = body;
    const sent = r.has_body ? bridge('body', '["binary"]') : undefined;
    const binary = sent === 'S' ? body : sent === undefined ? undefined : bodyOf(sent, true);
    let bytes;
    return {
      method: r.method,
      path: r.path,
      raw_path: r.raw_path,
      query: queryTable(r.query),
      query_string: r.query || '',
      host: r.host,
      client_ip: r.client_ip,
      tenant: r.tenant,
      request_id: r.request_id,
      headers: u.headerTable(r.headers),
      backends: backendTable(r.backends),
      params,
      body, // the text, or a binary string (lib/protocol.js)
      get body_bytes() {
        if (bytes === undefined && typeof binary === 'string') bytes = bytesOf(binary);
        return bytes;
      },
      header_values(name) {
        const n = str(name, 'header_values', 1).toLowerCase();
        return r.headers.filter((h) => h[0].toLowerCase() === n).map((h) => h[1]);
      },
      set_header(name, value) {
        edit(decision.headerEdits, headerName(name, 'set_header'), headerValue(value, 'set_header'));
      },
      remove_header(name) {
        edit(decision.headerEdits, headerName(name, 'remove_header'), null); // null removes
      },
      set_path(p) {
        const path = str(p, 'set_path', 1);
        const problem = u.rules.pathProblem(path);
        if (problem !== null) throw new Err(`set_path: ${problem}`);
        decision.path = path;
      },
      set_query(q) {
        let query = optStr(q, 'set_query', 1, '');
        query = query.startsWith('?') ? query.slice(1) : query;
        const problem = u.rules.queryProblem(query);
        if (problem !== null) throw new Err(`set_query: ${problem}`);
        decision.query = query;
      },
    };
  }

  // ---- params: the tenant's parameters for the script ----------------------------------------
  // Made afresh for each call from the JSON text the engine has (lib/protocol.js paramsOf), with
  // the JSON.parse and Object.freeze taken before any script ran, and frozen all the way down: a
  // write throws in strict code and is ignored in sloppy code. Without params, an empty object.
  function deepFreeze(v) {
    if (v !== null && typeof v === 'object') {
      if (isArray(v)) {
        for (let i = 0; i < v.length; i++) deepFreeze(v[i]);
      } else {
        const ks = keys(v);
        for (let i = 0; i < ks.length; i++) deepFreeze(v[ks[i]]);
      }
      freeze(v);
    }
    return v;
  }
  function paramsOf(r) {
    return r.has_params === true ? deepFreeze(parse(bridge('params', '[]'))) : freeze({});
  }

  // ---- the engine's way in ------------------------------------------------------------------
  const compatCall = compat(u);
  const respondCall = response(u);
  let onRequest = null;
  let onRouteRequest = null;
  let onResponse = null;

  // A script's function: exported (module.exports / exports) or a global.
  function entry(name) {
    const m = G.module;
    const exported = m !== null && typeof m === 'object' && m.exports !== null && typeof m.exports === 'object' ? m.exports[name] : undefined;
    const f = typeof exported === 'function' ? exported : G[name];
    return typeof f === 'function' ? f : null;
  }
  // 0: no entry point (a script error), 1: on_request or on_route_request, 2: and on_response.
  function init() {
    onRequest = entry('on_request');
    onRouteRequest = entry('on_route_request');
    onResponse = entry('on_response');
    if (onRequest === null && onRouteRequest === null) return 0;
    return onResponse === null ? 1 : 2;
  }
  // What was thrown, as text read here, under the call's deadline (a getter may loop).
  function describe(e) {
    try {
      if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
        return { name: String(e.name), message: String(e.message), stack: String(e.stack), limit: u.limitErrors.has(e) };
      }
      return { message: String(e) };
    } catch (x) {
      return { message: 'a value that cannot be described was thrown' };
    }
  }
  // Runs one call for the engine's request: JSON text, {ok: result} or {fail: what was thrown}.
  function call(decides, body) {
    current = host('request');
    decision = decides ? { kind: 'continue', headerEdits: dict() } : null;
    edit = u.headerEdits();
    try {
      return stringify({ ok: body() });
    } catch (e) {
      return stringify({ fail: describe(e) });
    } finally {
      current = null;
      bodyText = undefined;
      decision = null;
      edit = null;
    }
  }
  function dispatch() {
    return call(true, () => {
      if (onRequest !== null) onRequest(makeReq(current, paramsOf(current)));
      else compatCall(onRouteRequest, current, decision, edit);
      return decision;
    });
  }
  function respondDispatch() {
    return call(false, () => respondCall(onResponse, current, host('response'), paramsOf(current)));
  }

  const api = { route_to: routeTo, respond, reject, ...helpers(u, host, maxString) };
  for (const k of keys(api)) defineProperty(G, k, { value: api[k], writable: false, enumerable: true, configurable: false });
  G.module = { exports: {} };
  G.exports = G.module.exports;
  return freeze({ init: () => String(init()), dispatch, respond: respondDispatch, describe: (e) => stringify(describe(e)) });
});
