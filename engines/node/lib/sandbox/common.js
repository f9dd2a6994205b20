// Runs inside each script's QuickJS context, NOT as a Node module (see README.md here): evaluates to
// a function of the edit rules (rules.js) that returns the argument checks and tables shared by
// api.js, helpers.js, compat.js and response.js. Messages follow src/main/java/dev/keystone/script/*.java.
(function common(rules) {
  'use strict';
  const Err = Error; // kept: a script may replace its realm's globals, not these
  const { defineProperty, freeze, keys } = Object;
  const limitErrors = new WeakSet();

  function typeName(v) {
    return v === null || v === undefined ? 'nil' : Array.isArray(v) ? 'array' : typeof v;
  }
  // Like Lua's checkjstring: a string, or a number taken as its text.
  function str(v, fn, n) {
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw new Err(`${fn}: bad argument #${n} (string expected, got ${typeName(v)})`);
  }
  function optStr(v, fn, n, dflt) {
    return v === undefined || v === null ? dflt : str(v, fn, n);
  }
  function num(v, fn, n) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new Err(`${fn}: bad argument #${n} (number expected, got ${typeName(v)})`);
    return v;
  }
  function optNum(v, fn, n, dflt) {
    return v === undefined || v === null ? dflt : num(v, fn, n);
  }
  // Maps keyed by outside data have no prototype: req.backends["constructor"] is undefined.
  function dict() {
    return Object.create(null);
  }
  function put(o, k, v) {
    defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  // An error the script did not cause itself (a limit): reported with "limit": true.
  function limit(message) {
    const e = new Err(message);
    limitErrors.add(e);
    return e;
  }

  // A header name a script may edit (set_header, remove_header, respond): a token, not framing.
  function headerName(n, fn) {
    const name = str(n, fn, 1);
    const problem = rules.nameProblem(name);
    if (problem !== null) throw new Err(problem);
    return name;
  }
  // No line break may smuggle in a second header or request.
  function headerValue(v, fn, n = 2) {
    const value = str(v, fn, n);
    const problem = rules.valueProblem(value);
    if (problem !== null) throw new Err(problem);
    return value;
  }
  // The header edits of one request (or one response), counted and measured together: every edit
  // counts, as in Decision.java (a script could repeat one big value). edit(table, name, value)
  // puts the edit into `table` (value null: a removal), or throws past the limits.
  function headerEdits() {
    let count = 0;
    let bytes = 0;
    return function edit(table, name, value) {
      count++;
      bytes += name.length + (value === null ? 0 : value.length);
      const problem = rules.headersProblem(count, bytes);
      if (problem !== null) throw new Err(problem);
      put(table, name, value);
    };
  }
  // First value of each header, looked up ignoring case (stored under lower-case names).
  function headerTable(pairs) {
    const t = dict();
    for (const [n, v] of pairs) {
      const k = n.toLowerCase();
      if (!(k in t)) put(t, k, v);
    }
    const low = (k) => (typeof k === 'string' ? k.toLowerCase() : k);
    return new Proxy(t, {
      get: (o, k) => o[low(k)],
      has: (o, k) => low(k) in o,
      set: (o, k, v) => { put(o, low(k), v); return true; },
      deleteProperty: (o, k) => delete o[low(k)],
      getOwnPropertyDescriptor: (o, k) => Object.getOwnPropertyDescriptor(o, low(k)),
    });
  }

  // ---- req's tables ----------------------------------------------------------------------
  function decode(s) {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch (e) {
      return s; // a bad %-escape: the raw text, as in the Lua engine
    }
  }
  // a=1&b=x%20y as {a: "1", b: "x y"}; a repeated name keeps its first value.
  function queryTable(q) {
    const t = dict();
    for (const pair of (q || '').split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const k = decode(eq < 0 ? pair : pair.slice(0, eq));
      if (!(k in t)) put(t, k, eq < 0 ? '' : decode(pair.slice(eq + 1)));
    }
    return t;
  }
  // The backends by name, read-only as in the Lua engine.
  function backendTable(list) {
    const t = dict();
    for (const b of list) {
      const labels = dict();
      for (const k of keys(b.labels)) put(labels, k, b.labels[k]);
      put(t, b.name, freeze({ name: b.name, url: b.url, healthy: b.healthy, weight: b.weight, labels: freeze(labels) }));
    }
    return freeze(t);
  }

  return freeze({ Err, rules, limitErrors, typeName, str, optStr, num, optNum, dict, put, limit, headerName, headerValue, headerEdits,
    headerTable, queryTable, backendTable });
});
