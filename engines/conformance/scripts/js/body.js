// Conformance: what the script sees of the request body (req.body, the text; req.body_bytes, the
// raw bytes; both undefined without a body). X-Case "text": LEN:BODY (LEN in bytes); "bytes":
// LEN:FIRST:LAST (byte values); no body: "none".
function on_request(req) {
  const b = req.body_bytes;
  if (req.body === undefined) {
    return respond(200, b === undefined ? 'none' : 'body_bytes without body');
  } else if (req.headers['X-Case'] === 'text') {
    return respond(200, b.length + ':' + req.body);
  }
  return respond(200, b.length + ':' + b[0] + ':' + b[b.length - 1]);
}
