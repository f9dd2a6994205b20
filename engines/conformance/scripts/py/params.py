# Conformance: script parameters (docs/engine-protocol.md, "Script parameters"): req.params in
# on_request, res.params in on_response, an empty dict when the call has none; read-only: the
# writes of X-Case "write" (line 9), "write-nested" (10), "write-list" (11) and on_response's
# "write" (19) must fail there (each raises TypeError). "default" answers params.limit or 10;
# "echo" answers what the script saw (seen, below) and sets X-Limit to params.limit or 10.
# Keep the lines as in scripts/js/params.js: the suite checks them.
def on_request(req):
    p, c = req.params, req.headers['X-Case']
    if c == 'write': p['limit'] = 5
    if c == 'write-nested': p['nested']['flag'] = False
    if c == 'write-list': p['list'][0] = 'z'
    if c == 'default': return respond(200, str(p.get('limit', 10)))
    req.set_header('X-Limit', str(p.get('limit') or 10))
    return respond(200, json.encode(seen(p)))


def on_response(res):
    p = res.params
    if res.headers['X-Case'] == 'write': p.limit = 5
    res.set_header('X-Seen', json.encode(seen(p)))


# What a script sees of its params: that they are a dict (not None), how many keys, and the
# values the suite sends (None for what it did not send).
def seen(p):
    lst, nested = p.get('list'), p.get('nested')
    return {
        'kind': 'object' if isinstance(p, dict) else type(p).__name__,
        'count': len(p), 'limit': p.get('limit'), 'header': p.get('header'), 'id': p.get('id'), 'unicode': p.get('ünï'),
        'second': lst[1] if lst is not None and len(lst) > 1 else None, 'list_length': None if lst is None else len(lst),
        'flag': None if nested is None else nested.get('flag'),
    }
