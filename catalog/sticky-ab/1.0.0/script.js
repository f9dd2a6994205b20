'use strict';
// Sticky A/B split (catalog entry sticky-ab): the user's cookie (or, without one, the client
// address) is hashed; the same value always lands in the same bucket, on every instance and
// version (hash is FNV-1a). PERCENT_B percent of users get variant b.

// The first NAME=VALUE after a ';' (or the header's start) and any spaces, VALUE not empty:
// the Lua version's pattern ";%s*NAME=([^;]+)" (LuaJ's %s: space, \t, \n, \f, \r).
const SPACE = ' \t\n\f\r';
function cookie(req, name) {
  const header = req.headers['Cookie'];
  if (header === undefined || header === null) return undefined;
  const s = ';' + header;
  const want = name + '=';
  for (let i = 0; i >= 0; i = s.indexOf(';', i + 1)) {
    let j = i + 1;
    while (j < s.length && SPACE.includes(s[j])) j++;
    if (s.startsWith(want, j)) {
      const k = j + want.length;
      let end = s.indexOf(';', k);
      if (end < 0) end = s.length;
      if (end > k) return s.slice(k, end);
    }
  }
  return undefined;
}

function on_request(req) {
  const p = req.params;
  let who = cookie(req, p.cookie);
  if (who === undefined) who = req.client_ip === undefined || req.client_ip === null ? '' : req.client_ip;
  const variant = hash(who) % 100 < p.percent_b ? 'b' : 'a';
  req.set_header(p.variant_header, variant);
  return route_to({ [p.label]: variant });
}
