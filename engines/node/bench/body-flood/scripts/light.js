// A neighbour: answers at once.
function on_request(req) { return respond(200, 'ok'); }
