# Blue/green switch (catalog entry blue-green): the live colour is a flag in the tenant's
# key/value store (the first colour until switched). POST SWITCH_PATH?to=COLOUR with the
# operator token flips it for every request of this instance at once.
def on_request(req):
    p = req.params
    colors = p['colors']
    if req.path == p['switch_path'] and req.method == 'POST':
        if req.headers['X-Operator-Token'] != p['token']:
            return reject(403, 'operator token required')
        to = req.query.get('to')
        if to != colors[0] and to != colors[1]:
            return reject(400, 'to must be ' + colors[0] + ' or ' + colors[1])
        kv.set('live', to)
        log('blue/green switched to', to)
        return respond(200, 'live: ' + to + '\n')
    live = kv.get('live')
    return route_to({p['label']: colors[0] if live is None else live})
