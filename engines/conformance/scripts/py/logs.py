# Conformance: what log() may write (checks/logs.js reads the engine's log). X-Case: "many" logs
# X-Lines lines; "then-fail" logs 20 then fails with a limit; anything else logs one line.
def on_request(req):
    kind = req.headers['X-Case']
    mark = req.headers['X-Mark']
    if kind == 'many':
        n = int(req.headers['X-Lines'])
        for i in range(1, n + 1): log(f'{mark} line {i}')  # noqa: E701
    elif kind == 'then-fail':
        for i in range(1, 21): log(f'{mark} line {i}')  # noqa: E701
        return respond(200, 'x' * 2 ** 21)  # above the 1 MiB of a body: a limit that leaves the worker whole
    elif kind == 'quoted':
        log(f'{mark} said "hi" c:\\x\nSEVERE forged request_id=x')
    else:
        log(f'{mark} line 1')
    return respond(200, 'logged')
