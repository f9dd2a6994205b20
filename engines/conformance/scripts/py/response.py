# Conformance: the response phase. on_request counts the call in kv (or fails, X-Case: fail);
# on_response picks what to do from the response's X-Case header.
def on_request(req):
    if req.headers['X-Case'] == 'fail':
        raise Exception('decide failed')
    kv.incr('decided', 1)
    # (lines kept as in scripts/js/response.js: the suite checks them)


def on_response(res):
    kind = res.headers['x-case']  # sent as X-Case
    if kind == 'teapot':
        res.set_status(418)
        res.set_header('X-Served-By', res.backend)
        res.remove_header('X-Internal')
    elif kind == 'set-status':
        res.set_status(int(res.headers['X-To']))
    elif kind == 'header-only':
        res.set_header('X-Note', 'kept')
    elif kind == 'framing':
        res.set_header('Content-Length', '1')
    elif kind == 'framing-remove':
        res.remove_header('transfer-encoding')
    elif kind == 'crlf':
        res.set_header('X-Injected', 'a\r\nX-Evil: 1')
    elif kind == 'bad-name':
        res.set_header('Bad Name', 'x')
    elif kind == 'boom':
        raise Exception('boom in on_response')
    elif kind == 'loop':
        while True: pass  # noqa: E701 (endless)
    elif kind == 'echo':
        seen = {
            'status': res.status, 'backend': res.backend, 'method': res.method, 'path': res.path,
            'tenant': res.tenant, 'request_id': res.request_id,
            'content_type': res.headers['content-type'],  # sent as Content-Type
            'first_multi': res.headers['X-MULTI'],  # sent twice
            'missing': res.headers['X-Not-There'],
            'decided': kv.get('decided'),
        }
        res.set_header('X-Seen', json.encode(seen))
    elif kind == 'too-many':
        for i in range(1, 102): res.set_header('X-R' + str(i), 'v')  # noqa: E701
