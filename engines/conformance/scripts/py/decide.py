# Conformance: every decision kind, picked by the X-Case header (engines/conformance/README.md).
def on_request(req):
    kind = req.headers['X-Case']
    if kind == 'name':
        return route_to(req.headers['X-Target'])
    elif kind == 'labels':
        return route_to({'version': req.headers['X-Version']})
    elif kind == 'two-labels':
        return route_to({'version': 'canary', 'zone': 'b'})
    elif kind == 'respond':
        return respond(503, 'down for maintenance', {'Retry-After': '600', 'Content-Type': 'text/plain'})
    elif kind == 'respond-plain':
        return respond(204)
    elif kind == 'reject':
        return reject(401, 'missing or unknown API key')
    elif kind == 'last-wins':
        route_to('stable')
        return reject(403, 'changed my mind')
    # anything else: no decision, so "continue"
