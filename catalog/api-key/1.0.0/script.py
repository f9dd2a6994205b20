# API keys (catalog entry api-key): an unknown or missing key is answered 401; a known one is
# removed and the backend is told the client's name in CLIENT_HEADER instead.
# (params['keys'], not params.keys: that is the dict method.)
def on_request(req):
    p = req.params
    key = req.headers[p['header']]
    client = None if key is None else p['keys'].get(key)
    if client is None or client is False:
        return reject(401, 'missing or unknown API key')
    req.remove_header(p['header'])
    req.set_header(p['client_header'], client)
