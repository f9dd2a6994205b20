// Conformance: the helpers hash, random, now and json, picked by X-Case; answers JSON.
function on_request(req) {
  const kind = req.headers['X-Case'];
  let out = [];
  if (kind === 'hash') {
    for (const s of req.header_values('X-Hash-Input')) {
      out.push(hash(s));
    }
  } else if (kind === 'random') {
    out = { units: [], dice: [], ranges: [] };
    for (let i = 0; i < 50; i++) {
      out.units.push(random());
      out.dice.push(random(6));
      out.ranges.push(random(5, 7));
    }
  } else if (kind === 'now') {
    out = { now: now() };
  } else if (kind === 'json') {
    const d = json.decode('{"list":[1,2,3],"name":"x","flag":true,"nested":{"k":"v"}}');
    out = { n: d.list.length, sum: d.list[0] + d.list[1] + d.list[2], name: d.name, flag: d.flag, k: d.nested.k };
    out.text = json.encode({ a: 'b' });
  }
  return respond(200, json.encode(out));
}
