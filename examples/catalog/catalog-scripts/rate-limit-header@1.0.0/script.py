# Rate limit by header (catalog entry rate-limit-header): each value of HEADER (else each client
# address, or a 400 when MISSING is "reject") gets LIMIT requests per WINDOW_SECONDS; past it,
# STATUS with Retry-After. Counters live in the tenant's key/value store (per gateway instance),
# in fixed windows that start at a client's first request: kv.incr gives a new counter the TTL.
# Values longer than 200 bytes (UTF-8) are refused rather than shortened: two clients must never
# share a counter, or one could spend the other's budget. The length is measured as the Lua
# version measures it (#s): bytes of UTF-8, a character outside the BMP 6 (as LuaJ stores text).
def lua_length(s):
    if s.isascii():
        return len(s)
    return sum(1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 6 for c in map(ord, s))


def text(n):
    """A number as the Lua version writes it: 60, never 60.0."""
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


def on_request(req):
    p = req.params
    who = req.headers[p['header']]
    if who is not None:
        if lua_length(who) > 200:
            return reject(400, p['header'] + ' is longer than 200 bytes')
        who = 'h:' + who
    elif p['missing'] == 'reject':
        return reject(400, 'missing ' + p['header'])
    else:
        who = 'ip:' + (req.client_ip or '')
    n = kv.incr('rl:' + who, 1, p['window_seconds'])
    if n > p['limit']:
        return respond(p['status'], 'rate limit exceeded: ' + text(p['limit']) + ' requests per ' + text(p['window_seconds']) + ' s\n',
                       {'Retry-After': text(p['window_seconds']), 'Content-Type': 'text/plain'})
