// Runs inside each script's QuickJS context, NOT as a Node module (see README.md here): evaluates to
// a function that makes compatCall, which runs a script of the original engine's interface,
// on_route_request(request, backends), and records its returned table as a decision (as
// src/main/java/dev/keystone/script/CompatApi.java does).
(function compat(u) {
  'use strict';
  const { keys } = Object;
  const { Err, str, optStr, typeName, headerName } = u;
  const truthy = (v) => v !== undefined && v !== null && v !== false; // Lua's truth

  return function compatCall(fn, r, decision, edit) {
    const request = { method: r.method, path: r.path, host: r.host || '', headers: u.headerTable(r.headers), body: '' };
    const backends = r.backends.map((b) => ({ ...b, health: b.healthy })); // name, url, healthy, weight, labels
    const t = fn(request, backends);
    if (t === undefined || t === null) return;
    if (typeof t !== 'object') throw new Err(`on_route_request must return a table or nil, got ${typeName(t)}`);
    if (t.modified_headers !== null && typeof t.modified_headers === 'object') {
      for (const k of keys(t.modified_headers)) {
        const v = str(t.modified_headers[k], 'modified_headers', 2);
        const problem = u.rules.valueProblem(v);
        if (problem !== null) throw new Err(`modified_headers: ${problem}`);
        edit(decision.headerEdits, headerName(k, 'modified_headers'), v);
      }
    }
    if (typeof t.modified_path === 'string' && t.modified_path !== '') {
      if (!t.modified_path.startsWith('/')) throw new Err(`modified_path must start with '/', got '${t.modified_path}'`);
      // Stricter than CompatApi.java, which lets CR, LF and spaces through here (see README.md).
      const problem = u.rules.pathProblem(t.modified_path);
      if (problem !== null) throw new Err(`modified_path: ${problem}`);
      decision.path = t.modified_path;
    }
    if (truthy(t.reject)) {
      Object.assign(decision, { kind: 'reject', status: 403, reason: optStr(t.reject_reason, 'reject_reason', 1, 'rejected by script') });
      return;
    }
    if (typeof t.selected_backend === 'string' && t.selected_backend !== '') {
      const name = t.selected_backend;
      if (!r.backends.some((b) => b.name === name)) throw new Err(`selected_backend: tenant ${r.tenant} has no backend named '${name}'`);
      Object.assign(decision, { kind: 'route', target: name, backends: [name] });
    }
  };
});
