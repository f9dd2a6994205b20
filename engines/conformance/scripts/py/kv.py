# Conformance: the tenant's key/value store. X-Op picks the operation on the key X-Key; the
# answer's body is "type:value" of what kv.get (or kv.incr) gives afterwards, "nil:nil" if none
# (the type as JavaScript's typeof names it, so that every engine answers the same text).
def show(v):
    if v is None:
        return 'nil:nil'
    if isinstance(v, bool):
        return 'boolean:' + ('true' if v else 'false')
    if isinstance(v, (int, float)):
        return 'number:' + (str(int(v)) if float(v).is_integer() else repr(v))
    return 'string:' + str(v)


def on_request(req):
    op, key = req.headers['X-Op'], req.headers['X-Key']
    ttl = float(req.headers['X-TTL'] or '0')
    if op == 'incr':
        return respond(200, show(kv.incr(key, 1, ttl)))
    elif op == 'set-string':
        kv.set(key, req.headers['X-Value'], ttl)
    elif op == 'set-number':
        kv.set(key, float(req.headers['X-Value']), ttl)
    elif op == 'set-boolean':
        kv.set(key, req.headers['X-Value'] == 'true', ttl)
    elif op == 'set-big':
        kv.set(key, 'x' * (64 * 1024 + 1))
    elif op == 'delete':
        kv.delete(key)
    return respond(200, show(kv.get(key)))
