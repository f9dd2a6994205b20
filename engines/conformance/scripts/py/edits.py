# Conformance: request edits, which apply whatever the decision. X-Case picks the decision.
def on_request(req):
    kind = req.headers['X-Case']
    if kind == 'clear-query':
        req.set_query(None)
        return
    req.set_header('X-Client', 'acme')
    req.remove_header('X-API-Key')
    req.set_path('/v2' + req.path)
    req.set_query('page=2')
    if kind == 'respond':
        return respond(200, 'ok')
    elif kind == 'route':
        return route_to('stable')
