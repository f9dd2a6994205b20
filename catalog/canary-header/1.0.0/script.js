'use strict';
// Canary by header (catalog entry canary-header): a request whose header names a canary the
// tenant has (PREFIX + value) goes there; every other request goes to the stable labels.
function on_request(req) {
  const p = req.params;
  const id = req.headers[p.header];
  if (id !== undefined && id !== null && Object.hasOwn(req.backends, p.prefix + id)) {
    return route_to(p.prefix + id);
  }
  return route_to(p.stable);
}
