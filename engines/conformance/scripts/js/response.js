// Conformance: the response phase. on_request counts the call in kv (or fails, X-Case: fail);
// on_response picks what to do from the response's X-Case header.
function on_request(req) {
  if (req.headers['X-Case'] === 'fail') {
    throw new Error('decide failed');
  }
  kv.incr('decided', 1);
}

function on_response(res) {
  const kind = res.headers['x-case']; // sent as X-Case
  if (kind === 'teapot') {
    res.set_status(418);
    res.set_header('X-Served-By', res.backend);
    res.remove_header('X-Internal');
  } else if (kind === 'set-status') {
    res.set_status(Number(res.headers['X-To']));
  } else if (kind === 'header-only') {
    res.set_header('X-Note', 'kept');
  } else if (kind === 'framing') {
    res.set_header('Content-Length', '1');
  } else if (kind === 'framing-remove') {
    res.remove_header('transfer-encoding');
  } else if (kind === 'crlf') {
    res.set_header('X-Injected', 'a\r\nX-Evil: 1');
  } else if (kind === 'bad-name') {
    res.set_header('Bad Name', 'x');
  } else if (kind === 'boom') {
    throw new Error('boom in on_response');
  } else if (kind === 'loop') {
    for (;;) { /* endless */ }
  } else if (kind === 'echo') {
    const seen = {
      status: res.status, backend: res.backend, method: res.method, path: res.path,
      tenant: res.tenant, request_id: res.request_id,
      content_type: res.headers['content-type'], // sent as Content-Type
      first_multi: res.headers['X-MULTI'], // sent twice
      missing: res.headers['X-Not-There'],
      decided: kv.get('decided'),
    };
    res.set_header('X-Seen', json.encode(seen));
  } else if (kind === 'too-many') {
    for (let i = 1; i <= 101; i++) res.set_header('X-R' + i, 'v');
  }
}
