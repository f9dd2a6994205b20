'use strict';
// API keys (catalog entry api-key): an unknown or missing key is answered 401; a known one is
// removed and the backend is told the client's name in CLIENT_HEADER instead.
// A key is looked up among KEYS' own entries only: "constructor" or "__proto__" is no client.
function on_request(req) {
  const p = req.params;
  const key = req.headers[p.header];
  const client = key !== undefined && key !== null && Object.hasOwn(p.keys, key) ? p.keys[key] : undefined;
  if (client === undefined || client === null || client === false) {
    return reject(401, 'missing or unknown API key');
  }
  req.remove_header(p.header);
  req.set_header(p.client_header, client);
}
