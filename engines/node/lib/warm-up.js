'use strict';
// Runs a request through a throwaway isolate when the engine starts. V8 compiles QuickJS's
// WebAssembly lazily, function by function, on first use: without this, that work falls into
// some tenant's first call and counts against its deadline (on a cold engine, setting up the
// first context took 55 ms; afterwards, 5 to 25).

const { TenantIsolate, RequestWindow } = require('./isolate');
const { ScriptContext } = require('./script');
const { TimeShare } = require('./budgets');
const { Stores } = require('./kv');
const jsonCost = require('./json-cost');

const SOURCE = `
function on_request(req) {
  req.set_header('X-Warm', req.headers['x-a'] + req.query.a);
  req.set_path('/warm');
  log(json.encode({ h: hash('x'), r: random(3), k: kv.incr('n') }));
  return route_to({ zone: 'a' });
}
function on_response(res) { res.set_header('X-Warm', String(res.status)); }
`;

/** Best effort (a failure only means the first tenant pays for the warm-up): null, or what failed. */
async function warmUp(options) {
  const tenant = '(warm-up)';
  try {
    const isolate = await TenantIsolate.create(tenant, { ...options, deadlineMs: 10000 });
    const script = { name: 'warm-up', file: 'keystone:warm-up', source: SOURCE };
    const call = () => ({
      store: new Stores().of(tenant), logs: { acquire: () => null }, window: new RequestWindow(10000, new TimeShare(1e9)), check: (d) => d,
    });
    const context = new ScriptContext(isolate, script, () => {}, call().window);
    const request = { method: 'GET', path: '/', raw_path: '/', query: 'a=1', host: 'h', client_ip: '-', tenant, request_id: '-',
      headers: [['X-A', 'b']], backends: [{ name: 'b', url: 'http://b', healthy: true, weight: 1, labels: { zone: 'a' } }] };
    context.decide(request, call());
    context.respond(request, { status: 200, backend: 'b', headers: [] }, call());
    // The pricing of JSON texts (json-cost.js), so that V8 has compiled it before a client's
    // body needs it (a cold first pricing of 1.3 MB took 58 ms, then 14).
    const sample = JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ [`k${i}`]: [i, 'v\\u00e9'] })));
    for (let i = 0; i < 5; i++) jsonCost.priced(sample);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

module.exports = { warmUp };
