'use strict';
// Geo allow-list (catalog entry geo-allowlist): the country comes from HEADER, set by the CDN or
// edge in front of the gateway (the gateway has no address database). MODE allow lets only
// COUNTRIES through; deny lets all others through. Codes compare with ASCII letters upper-cased
// (as Lua's string.upper: never by a locale's rules).
function on_request(req) {
  const p = req.params;
  let country = req.headers[p.header];
  if (country === undefined || country === null || country === '') {
    if (p.missing === 'allow') return;
    return reject(p.status, 'country unknown');
  }
  country = country.replace(/[a-z]/g, (c) => c.toUpperCase());
  const found = p.countries.includes(country);
  if (found === (p.mode === 'allow')) return;
  return reject(p.status, 'not available in your country');
}
