// Conformance: every decision kind, picked by the X-Case header (engines/conformance/README.md).
function on_request(req) {
  const kind = req.headers['X-Case'];
  if (kind === 'name') {
    return route_to(req.headers['X-Target']);
  } else if (kind === 'labels') {
    return route_to({ version: req.headers['X-Version'] });
  } else if (kind === 'two-labels') {
    return route_to({ version: 'canary', zone: 'b' });
  } else if (kind === 'respond') {
    return respond(503, 'down for maintenance', { 'Retry-After': '600', 'Content-Type': 'text/plain' });
  } else if (kind === 'respond-plain') {
    return respond(204);
  } else if (kind === 'reject') {
    return reject(401, 'missing or unknown API key');
  } else if (kind === 'last-wins') {
    route_to('stable');
    return reject(403, 'changed my mind');
  }
  // anything else: no decision, so "continue"
}
