// The flooded tenant: parses the JSON body a client sent.
function on_request(req) {
  if (req.body === undefined) return respond(200, 'no body');
  try { JSON.parse(req.body); } catch (e) { return respond(400, 'bad json'); }
  return respond(200, 'ok');
}
