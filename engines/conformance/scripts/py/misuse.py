# Conformance: wrong uses of the API, each a script error. X-Case picks one.
def on_request(req):
    kind = req.headers['X-Case']
    if kind == 'unknown-backend':
        route_to('no-such-backend')
    elif kind == 'unknown-labels':
        route_to({'version': 'no-such-version'})
    elif kind == 'respond-status-low':
        respond(99, 'x')
    elif kind == 'respond-status-high':
        respond(600, 'x')
    elif kind == 'reject-status':
        reject(399, 'x')
    elif kind == 'framing-header':
        req.set_header('Content-Length', '5')
    elif kind == 'framing-header-lower':
        req.remove_header('transfer-encoding')
    elif kind == 'connection-header':
        req.set_header('Connection', 'close')
    elif kind == 'crlf-value':
        req.set_header('X-Injected', 'a\r\nX-Evil: 1')
    elif kind == 'nul-value':
        req.set_header('X-Injected', 'a\0b')
    elif kind == 'bad-name':
        req.set_header('Bad Name', 'x')
    elif kind == 'bad-path':
        req.set_path('no-slash')
    elif kind == 'respond-crlf':
        respond(200, 'x', {'X-Injected': 'a\r\nX-Evil: 1'})
    elif kind == 'respond-framing':
        respond(200, 'x', {'Content-Length': '1'})
    elif kind == 'path-space':
        req.set_path('/a b')
    elif kind == 'path-query':
        req.set_path('/a?b=1')
    elif kind == 'query-hash':
        req.set_query('a=1#frag')
    elif kind == 'name-not-token':
        req.set_header('X-{bad}', 'v')
    elif kind == 'path-non-ascii':
        req.set_path('/caf\u00e9')
    elif kind == 'query-not-uri':
        req.set_query('a=<x>')
    elif kind == 'path-too-long':
        req.set_path('/' + 'a' * 9000)
    elif kind == 'value-too-long':
        req.set_header('X-Big', 'v' * 9000)
    elif kind == 'name-too-long':
        req.set_header('X-' + 'n' * 300, 'v')
    elif kind == 'too-many-headers':
        for i in range(1, 102):
            req.set_header('X-H' + str(i), 'v')
    elif kind == 'header-bytes':
        for i in range(1, 10):
            req.set_header('X-B' + str(i), 'v' * 8000)
    elif kind == 'respond-too-many-headers':
        headers = {}
        for i in range(1, 102):
            headers['X-H' + str(i)] = 'v'
        respond(200, 'x', headers)
    elif kind == 'query-too-long':
        req.set_query('a=' + 'q' * 9000)
    elif kind == 'path-bad-percent':
        req.set_path('/a%zz')
    elif kind == 'query-bad-percent':
        req.set_query('a=%4')
    elif kind == 'path-hash':
        req.set_path('/a#frag')
