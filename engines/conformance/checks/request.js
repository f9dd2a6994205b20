'use strict';
// Every field of the decide request reaches the script as req.* (docs/scripting.md, "The
// request"). scripts/<lang>/echo.* answers with what it saw, as JSON.

const expect = require('../lib/expect');
const { BACKENDS, tenant } = require('../lib/fixtures');

const check = (name, run) => ({ name, run });

const FULL = {
  method: 'POST',
  path: '/orders/7',
  raw_path: '/shop/orders/7',
  query: 'page=2&b=x%20y+z&page=3&flag&caf%C3%A9=cr%C3%A8me',
  host: 'shop.example.com',
  client_ip: '203.0.113.7',
  request_id: 'req-9f2c',
};
const HEADERS = [['X-Deploy-ID', '42'], ['Accept', '*/*'], ['X-Multi', 'one'], ['x-multi', 'two']];

function echoFull(t) {
  return t.decideJson('echo', { request: FULL, headers: HEADERS, tenant: tenant('echo') });
}

module.exports = {
  group: 'request',
  about: 'method, path, raw_path, query table and string, host, client_ip, tenant, request_id, headers, backends',
  checks: [
    check('method, path, raw_path, host, client_ip, tenant, request_id', async (t) => {
      const seen = await echoFull(t);
      const FIELDS = ['method', 'path', 'raw_path', 'host', 'client_ip', 'request_id'];
      const pick = (o) => Object.fromEntries(FIELDS.map((f) => [f, o[f]]));
      expect.deepEqual(pick(seen), pick(FULL), 'fields');
      expect.equal(seen.tenant, tenant('echo'), 'tenant');
    }),
    check('query_string is the raw query; query holds first values, %- and +-decoded', async (t) => {
      const seen = await echoFull(t);
      expect.equal(seen.query_string, FULL.query, 'query_string');
      expect.deepEqual(seen.query, { page: '2', b: 'x y z', flag: '', café: 'crème' }, 'query');
    }),
    check('headers: lookup ignores case, first value of a repeated header', async (t) => {
      const seen = await echoFull(t);
      expect.deepEqual([seen.deploy_id, seen.accept, seen.first_multi], ['42', '*/*', 'one'], '[x-deploy-id, ACCEPT, X-Multi]');
      expect.truthy(seen.missing == null, `a header that was not sent: expected nothing, got ${expect.show(seen.missing)}`);
    }),
    check('header_values(name): every value, in order, names compared ignoring case', async (t) => {
      const seen = await echoFull(t);
      expect.deepEqual(seen.all_multi, ['one', 'two'], 'header_values("x-MULTI")');
      expect.deepEqual(seen.none, [], 'header_values of a header that was not sent');
    }),
    check('backends by name with url, healthy, weight and labels', async (t) => {
      const seen = await echoFull(t);
      expect.deepEqual(seen.backends, Object.fromEntries(BACKENDS.map((b) => [b.name, b])), 'backends');
    }),
    check('optional fields left out: raw_path is the path, query_string "", no host or client_ip', async (t) => {
      const seen = await t.decideJson('echo', { request: { method: 'GET', path: '/bare' } });
      expect.deepEqual([seen.path, seen.raw_path, seen.query_string], ['/bare', '/bare', ''], '[path, raw_path, query_string]');
      expect.deepEqual([seen.host, seen.client_ip], [undefined, undefined], '[host, client_ip]');
    }),
  ],
};
