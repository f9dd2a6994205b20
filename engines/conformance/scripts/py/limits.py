# Conformance: scripts that run into the engine's limits. X-Case: "recursion", else a loop.
def deeper(n):
    return deeper(n + 1) + 1


def on_request(req):
    if req.headers['X-Case'] == 'recursion':
        return deeper(1)
    while True:
        pass
