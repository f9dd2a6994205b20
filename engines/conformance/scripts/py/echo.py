# Conformance: answers with what the script saw of the request, as JSON.
def on_request(req):
    seen = {
        'method': req.method,
        'path': req.path,
        'raw_path': req.raw_path,
        'query': req.query,
        'query_string': req.query_string,
        'host': req.host,
        'client_ip': req.client_ip,
        'tenant': req.tenant,
        'request_id': req.request_id,
        'deploy_id': req.headers['x-deploy-id'],  # sent as X-Deploy-ID
        'accept': req.headers['ACCEPT'],  # sent as Accept
        'first_multi': req.headers['X-Multi'],  # sent twice
        'all_multi': req.header_values('x-MULTI'),
        'none': req.header_values('X-None'),
        'missing': req.headers['X-Not-There'],
        'backends': req.backends,
    }
    return respond(200, json.encode(seen), {'Content-Type': 'application/json'})
