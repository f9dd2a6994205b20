# Canary by header (catalog entry canary-header): a request whose header names a canary the
# tenant has (PREFIX + value) goes there; every other request goes to the stable labels.
def on_request(req):
    p = req.params
    deploy = req.headers[p['header']]
    if deploy is not None and (p['prefix'] + deploy) in req.backends:
        return route_to(p['prefix'] + deploy)
    return route_to(p['stable'])
