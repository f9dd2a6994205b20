# Sticky A/B split (catalog entry sticky-ab): the user's cookie (or, without one, the client
# address) is hashed; the same value always lands in the same bucket, on every instance and
# version (hash is FNV-1a). PERCENT_B percent of users get variant b.

# The first NAME=VALUE after a ';' (or the header's start) and any spaces, VALUE not empty:
# the Lua version's pattern ";%s*NAME=([^;]+)" (LuaJ's %s: space, \t, \n, \f, \r).
SPACE = frozenset(' \t\n\f\r')


def cookie(req, name):
    header = req.headers['Cookie']
    if header is None:
        return None
    s = ';' + header
    want = name + '='
    i = 0
    while i >= 0:
        j = i + 1
        while j < len(s) and s[j] in SPACE:
            j += 1
        if s.startswith(want, j):
            k = j + len(want)
            end = s.find(';', k)
            if end < 0:
                end = len(s)
            if end > k:
                return s[k:end]
        i = s.find(';', i + 1)
    return None


def on_request(req):
    p = req.params
    who = cookie(req, p['cookie'])
    if who is None:
        who = req.client_ip or ''
    variant = 'b' if hash(who) % 100 < p['percent_b'] else 'a'
    req.set_header(p['variant_header'], variant)
    return route_to({p['label']: variant})
