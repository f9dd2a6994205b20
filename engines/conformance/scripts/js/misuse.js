// Conformance: wrong uses of the API, each a script error. X-Case picks one.
function on_request(req) {
  const kind = req.headers['X-Case'];
  if (kind === 'unknown-backend') {
    route_to('no-such-backend');
  } else if (kind === 'unknown-labels') {
    route_to({ version: 'no-such-version' });
  } else if (kind === 'respond-status-low') {
    respond(99, 'x');
  } else if (kind === 'respond-status-high') {
    respond(600, 'x');
  } else if (kind === 'reject-status') {
    reject(399, 'x');
  } else if (kind === 'framing-header') {
    req.set_header('Content-Length', '5');
  } else if (kind === 'framing-header-lower') {
    req.remove_header('transfer-encoding');
  } else if (kind === 'connection-header') {
    req.set_header('Connection', 'close');
  } else if (kind === 'crlf-value') {
    req.set_header('X-Injected', 'a\r\nX-Evil: 1');
  } else if (kind === 'nul-value') {
    req.set_header('X-Injected', 'a\0b');
  } else if (kind === 'bad-name') {
    req.set_header('Bad Name', 'x');
  } else if (kind === 'bad-path') {
    req.set_path('no-slash');
  } else if (kind === 'respond-crlf') {
    respond(200, 'x', { 'X-Injected': 'a\r\nX-Evil: 1' });
  } else if (kind === 'respond-framing') {
    respond(200, 'x', { 'Content-Length': '1' });
  } else if (kind === 'path-space') {
    req.set_path('/a b');
  } else if (kind === 'path-query') {
    req.set_path('/a?b=1');
  } else if (kind === 'query-hash') {
    req.set_query('a=1#frag');
  } else if (kind === 'name-not-token') {
    req.set_header('X-{bad}', 'v');
  } else if (kind === 'path-non-ascii') {
    req.set_path('/caf\u00e9');
  } else if (kind === 'query-not-uri') {
    req.set_query('a=<x>');
  } else if (kind === 'path-too-long') {
    req.set_path('/' + 'a'.repeat(9000));
  } else if (kind === 'value-too-long') {
    req.set_header('X-Big', 'v'.repeat(9000));
  } else if (kind === 'name-too-long') {
    req.set_header('X-' + 'n'.repeat(300), 'v');
  } else if (kind === 'too-many-headers') {
    for (let i = 1; i <= 101; i++) req.set_header('X-H' + i, 'v');
  } else if (kind === 'header-bytes') {
    for (let i = 1; i <= 9; i++) req.set_header('X-B' + i, 'v'.repeat(8000));
  } else if (kind === 'respond-too-many-headers') {
    const headers = {};
    for (let i = 1; i <= 101; i++) headers['X-H' + i] = 'v';
    respond(200, 'x', headers);
  } else if (kind === 'query-too-long') {
    req.set_query('a=' + 'q'.repeat(9000));
  } else if (kind === 'path-bad-percent') {
    req.set_path('/a%zz');
  } else if (kind === 'query-bad-percent') {
    req.set_query('a=%4');
  } else if (kind === 'path-hash') {
    req.set_path('/a#frag');
  }
}
