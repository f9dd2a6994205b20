// Runs inside each script's QuickJS context, NOT as a Node module (see README.md here): evaluates to
// a function that makes respondCall, which runs a script's on_response(res) for the backend's
// response head and returns what it changed, {status, headers} (a null value removes a header),
// as RequestScript.onResponse in src/main/java/dev/keystone/script/ does.
(function response(u) {
  'use strict';
  const { Err, num, dict, headerName, headerValue } = u;
  const { trunc } = Math; // taken before any script runs
  const carriesBody = (s) => s >= 200 && s <= 599 && s !== 204 && s !== 304;

  return function respondCall(fn, r, head, params) {
    const edits = { status: head.status, headers: dict() };
    const edit = u.headerEdits(); // at most 100 headers and 64 KiB of them per response
    const res = {
      status: head.status,
      headers: u.headerTable(head.headers),
      backend: head.backend,
      tenant: r.tenant,
      request_id: r.request_id,
      path: r.path,
      method: r.method,
      params, // the tenant's parameters, deep-frozen (api.js paramsOf)
      // Only between statuses that carry a body: the framing the backend chose must stay valid.
      set_status(n) {
        const s = trunc(num(n, 'set_status', 1));
        if (!carriesBody(head.status) || !carriesBody(s)) {
          throw new Err(`set_status: cannot change ${head.status} to ${s}`
            + ' (only between statuses 200-599 other than 204 and 304: the body framing must stay valid)');
        }
        edits.status = s;
      },
      set_header(name, value) {
        edit(edits.headers, headerName(name, 'set_header'), headerValue(value, 'set_header'));
      },
      remove_header(name) {
        edit(edits.headers, headerName(name, 'remove_header'), null); // null removes
      },
    };
    fn(res);
    return edits;
  };
});
