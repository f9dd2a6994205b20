'use strict';
// Blue/green switch (catalog entry blue-green): the live colour is a flag in the tenant's
// key/value store (the first colour until switched). POST SWITCH_PATH?to=COLOUR with the
// operator token flips it for every request of this instance at once.
function on_request(req) {
  const p = req.params;
  if (req.path === p.switch_path && req.method === 'POST') {
    if (req.headers['X-Operator-Token'] !== p.token) {
      return reject(403, 'operator token required');
    }
    const to = req.query.to;
    if (to !== p.colors[0] && to !== p.colors[1]) {
      return reject(400, 'to must be ' + p.colors[0] + ' or ' + p.colors[1]);
    }
    kv.set('live', to);
    log('blue/green switched to', to);
    return respond(200, 'live: ' + to + '\n');
  }
  const live = kv.get('live');
  return route_to({ [p.label]: live !== undefined && live !== null ? live : p.colors[0] });
}
