# Header and path rewrites (catalog entry header-rewrite). Request headers are removed, then
# set (a value's {client_ip}, {host}, {request_id} and {tenant} are filled in, other {words}
# stay as written; not ${...}, which the config itself reads as environment variables); a path that
# starts with PATH_FROM gets PATH_TO instead; response headers are removed, then set.
# A {word} is ASCII letters, digits and _ (the Lua version's [%w_]+).
WORD = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_')
FIELDS = ('client_ip', 'host', 'request_id', 'tenant')


def expand(value, req):
    out, i, n = [], 0, len(value)
    while True:
        start = value.find('{', i)
        if start < 0:
            break
        j = start + 1
        while j < n and value[j] in WORD:
            j += 1
        if j > start + 1 and j < n and value[j] == '}':
            name = value[start + 1:j]
            out.append(value[i:start])
            if name in FIELDS:
                v = getattr(req, name)
                out.append('' if v is None else str(v))
            else:
                out.append(value[start:j + 1])
            i = j + 1
        else:
            out.append(value[i:start + 1])
            i = start + 1
    out.append(value[i:])
    return ''.join(out)


def on_request(req):
    p = req.params
    for name in p['request_remove']:
        req.remove_header(name)
    for name, value in p['request_set'].items():
        req.set_header(name, expand(value, req))
    start = p.get('path_from')
    if start is not None and req.path.startswith(start):
        rest = req.path[len(start):]
        to = p['path_to']
        if to.endswith('/') and rest.startswith('/'):
            rest = rest[1:]
        req.set_path(to + rest)


def on_response(res):
    p = res.params
    for name in p['response_remove']:
        res.remove_header(name)
    for name, value in p['response_set'].items():
        res.set_header(name, value)
