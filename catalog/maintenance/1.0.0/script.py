# Maintenance page (catalog entry maintenance): everyone gets STATUS with MESSAGE and a
# Retry-After, but a request carrying BYPASS_HEADER: BYPASS_VALUE goes on to the backends.
def text(n):
    """A number as the Lua version writes it: 600, never 600.0."""
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


def on_request(req):
    p = req.params
    if req.headers[p['bypass_header']] == p['bypass_value']:
        return
    return respond(p['status'], p['message'], {'Retry-After': text(p['retry_after']), 'Content-Type': 'text/plain'})
