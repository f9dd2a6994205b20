# Conformance: a script that fails at run time. The suite checks the failing lines, 6 and 9.
def on_request(req):
    kind = req.headers['X-Case']
    if kind == 'explicit':
        # the next line raises "boom"
        raise Exception('boom')
    elif kind == 'nil-index':
        missing = None
        return missing.field
