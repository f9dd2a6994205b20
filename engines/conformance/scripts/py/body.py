# Conformance: what the script sees of the request body (req.body, the text; req.body_bytes, the
# raw bytes; both None without a body). X-Case "text": LEN:BODY (LEN in bytes); "bytes":
# LEN:FIRST:LAST (byte values); no body: "none".
def on_request(req):
    b = req.body_bytes
    if req.body is None:
        return respond(200, 'none' if b is None else 'body_bytes without body')
    elif req.headers['X-Case'] == 'text':
        return respond(200, str(len(b)) + ':' + req.body)
    return respond(200, str(len(b)) + ':' + str(b[0]) + ':' + str(b[-1]))
