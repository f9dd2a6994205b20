'use strict';
// Header and path rewrites (catalog entry header-rewrite). Request headers are removed, then
// set (a value's {client_ip}, {host}, {request_id} and {tenant} are filled in, other {words}
// stay as written; not ${...}, which the config itself reads as environment variables); a path that
// starts with PATH_FROM gets PATH_TO instead; response headers are removed, then set.
// A {word} is letters, digits and _ (the Lua version's [%w_]+).
function expand(value, req) {
  return value.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name) => {
    if (name === 'client_ip' || name === 'host' || name === 'request_id' || name === 'tenant') {
      const v = req[name];
      return v === undefined || v === null ? '' : String(v);
    }
    return whole;
  });
}

function on_request(req) {
  const p = req.params;
  for (const name of p.request_remove) req.remove_header(name);
  for (const name of Object.keys(p.request_set)) req.set_header(name, expand(p.request_set[name], req));
  const from = p.path_from;
  if (from !== undefined && from !== null && req.path.startsWith(from)) {
    let rest = req.path.slice(from.length);
    const to = p.path_to;
    if (to.endsWith('/') && rest.startsWith('/')) rest = rest.slice(1);
    req.set_path(to + rest);
  }
}

function on_response(res) {
  const p = res.params;
  for (const name of p.response_remove) res.remove_header(name);
  for (const name of Object.keys(p.response_set)) res.set_header(name, p.response_set[name]);
}
