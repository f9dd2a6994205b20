'use strict'; // strict code: a write to a frozen object throws (in sloppy code it would be ignored)
// Conformance: script parameters (docs/engine-protocol.md, "Script parameters"): req.params in
// on_request, res.params in on_response, an empty object when the call has none; read-only: the
// writes of X-Case "write" (line 9), "write-nested" (10), "write-list" (11) and on_response's
// "write" (19) must fail there. "default" answers params.limit or 10; "echo" answers what the
// script saw (seen, below) and sets X-Limit to params.limit or 10. Keep the lines: the suite checks them.
function on_request(req) {
  const p = req.params, c = req.headers['X-Case'];
  if (c === 'write') p.limit = 5;
  if (c === 'write-nested') p.nested.flag = false;
  if (c === 'write-list') p.list[0] = 'z';
  if (c === 'default') return respond(200, String(p.limit || 10));
  req.set_header('X-Limit', String(p.limit || 10));
  return respond(200, json.encode(seen(p)));
}

function on_response(res) {
  const p = res.params;
  if (res.headers['X-Case'] === 'write') p.limit = 5;
  res.set_header('X-Seen', json.encode(seen(p)));
}

// What a script sees of its params: that they are an object (not null), how many keys, and the
// values the suite sends (what it did not send is left out).
function seen(p) {
  const list = p.list, nested = p.nested;
  return {
    kind: p !== null && typeof p === 'object' && !Array.isArray(p) ? 'object' : typeof p,
    count: Object.keys(p).length, limit: p.limit, header: p.header, id: p.id, unicode: p['ünï'],
    second: list ? list[1] : undefined, list_length: list ? list.length : undefined,
    flag: nested ? nested.flag : undefined,
  };
}
