// Conformance: request edits, which apply whatever the decision. X-Case picks the decision.
function on_request(req) {
  const kind = req.headers['X-Case'];
  if (kind === 'clear-query') {
    req.set_query(null);
    return;
  }
  req.set_header('X-Client', 'acme');
  req.remove_header('X-API-Key');
  req.set_path('/v2' + req.path);
  req.set_query('page=2');
  if (kind === 'respond') {
    return respond(200, 'ok');
  } else if (kind === 'route') {
    return route_to('stable');
  }
}
