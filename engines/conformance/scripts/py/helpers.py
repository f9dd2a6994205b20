# Conformance: the helpers hash, random, now and json, picked by X-Case; answers JSON.
def on_request(req):
    kind = req.headers['X-Case']
    out = []
    if kind == 'hash':
        for s in req.header_values('X-Hash-Input'):
            out.append(hash(s))
    elif kind == 'random':
        out = {'units': [], 'dice': [], 'ranges': []}
        for i in range(50):
            out['units'].append(random())
            out['dice'].append(random(6))
            out['ranges'].append(random(5, 7))
    elif kind == 'now':
        out = {'now': now()}
    elif kind == 'json':
        d = json.decode('{"list":[1,2,3],"name":"x","flag":true,"nested":{"k":"v"}}')
        out = {'n': len(d['list']), 'sum': d['list'][0] + d['list'][1] + d['list'][2], 'name': d['name'], 'flag': d['flag'], 'k': d['nested']['k']}
        out['text'] = json.encode({'a': 'b'})
    return respond(200, json.encode(out))
