'use strict';
// Rate limit by header (catalog entry rate-limit-header): each value of HEADER (else each client
// address, or a 400 when MISSING is "reject") gets LIMIT requests per WINDOW_SECONDS; past it,
// STATUS with Retry-After. Counters live in the tenant's key/value store (per gateway instance),
// in fixed windows that start at a client's first request: kv.incr gives a new counter the TTL.
// Values longer than 200 bytes (UTF-8) are refused rather than shortened: two clients must never
// share a counter, or one could spend the other's budget. The length is measured as the Lua
// version measures it (#s): bytes of UTF-8, each UTF-16 unit on its own (as LuaJ stores text).
function luaLength(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  return n;
}

function on_request(req) {
  const p = req.params;
  let who = req.headers[p.header];
  if (who !== undefined && who !== null) {
    if (luaLength(who) > 200) {
      return reject(400, p.header + ' is longer than 200 bytes');
    }
    who = 'h:' + who;
  } else if (p.missing === 'reject') {
    return reject(400, 'missing ' + p.header);
  } else {
    who = 'ip:' + (req.client_ip === undefined || req.client_ip === null ? '' : req.client_ip);
  }
  const n = kv.incr('rl:' + who, 1, p.window_seconds);
  if (n > p.limit) {
    return respond(p.status, 'rate limit exceeded: ' + p.limit + ' requests per ' + p.window_seconds + ' s\n',
      { 'Retry-After': String(p.window_seconds), 'Content-Type': 'text/plain' });
  }
}
