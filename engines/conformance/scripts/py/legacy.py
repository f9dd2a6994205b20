# Conformance: a script of the original engine's interface, on_route_request(request, backends),
# served by POST /route/legacy (the script named like the tenant). X-Case picks the answer.
def on_route_request(request, backends):
    kind = request.headers['x-case']
    if kind == 'reject':
        return {'reject': True, 'reject_reason': 'blocked'}
    elif kind == 'nothing':
        return None
    elif kind == 'many-headers':
        many = {}
        for i in range(1, 102):
            many['X-H' + str(i)] = 'v'
        return {'modified_headers': many}
    seen = []
    for b in backends:
        seen.append(b.name + '=' + ('true' if b.health else 'false'))
    return {
        'selected_backend': backends[-1].name,
        'modified_headers': {
            'X-Seen': ','.join(seen),
            'X-Host': request.host,
            'X-Method': request.method,
            'X-Body': '[' + request.body + ']',
        },
        'modified_path': '/legacy' + request.path,
    }
