'use strict';
// The original engine's POST /route/{tenant} (docs/engine-protocol.md): the script named like the
// tenant or ?script=NAME; answers {selected_backend, modified_headers, modified_path, reject,
// reject_reason}; respond becomes a rejection with the body as reason; header removals are
// dropped; a script failure is 500; a "body" string reaches new-API scripts as req.body; only
// "health": false or "unhealthy" mean down. Skip with --skip legacy.

const expect = require('../lib/expect');
const { tenant } = require('../lib/fixtures');

const check = (name, run) => ({ name, run });

// The original format: health instead of healthy. "stable" is down, so routing by labels to
// version=stable must select stable-b, the first healthy candidate.
const BACKENDS = [
  { name: 'stable', url: 'http://10.0.0.5:8080', health: false, labels: { version: 'stable' } },
  { name: 'stable-b', url: 'http://10.0.0.6:8080', health: true, labels: { version: 'stable' } },
  { name: 'canary-42', url: 'http://10.0.0.9:8080', health: true, labels: { version: 'canary' } },
];

function route(t, pathAndQuery, headers = {}) {
  const body = { method: 'POST', path: '/p', host: 'shop.example.com', headers, body: 'ignored', backends: BACKENDS };
  return t.post(`/route/${pathAndQuery}`, body);
}

module.exports = {
  group: 'legacy',
  about: 'POST /route/{tenant}: on_route_request scripts and new-API scripts via ?script=, its body, "health"',
  checks: [
    check('on_route_request(request, backends) of the script named like the tenant', async (t) => {
      const a = expect.status(await route(t, 'legacy', { 'X-Case': 'route' }), 200);
      expect.deepEqual(a, {
        selected_backend: 'canary-42',
        modified_headers: {
          'X-Seen': 'stable=false,stable-b=true,canary-42=true', // name=health, in order
          'X-Host': 'shop.example.com',
          'X-Method': 'POST',
          'X-Body': '[]', // bodies are never given to scripts
        },
        modified_path: '/legacy/p',
      }, 'answer');
    }),
    check('on_route_request returning reject, and returning nothing', async (t) => {
      expect.deepEqual(expect.status(await route(t, 'legacy', { 'X-Case': 'reject' }), 200), { reject: true, reject_reason: 'blocked' }, 'reject');
      expect.deepEqual(expect.status(await route(t, 'legacy', { 'X-Case': 'nothing' }), 200), {}, 'nothing');
    }),
    check('modified_headers with 101 headers: a script failure (500; at most 100 headers)', async (t) => {
      const a = expect.status(await route(t, 'legacy', { 'X-Case': 'many-headers' }), 500);
      expect.equal(a.decision, 'error', 'decision');
      expect.match(a.error, /at most 100 headers/, 'error');
    }),
    check('?script= runs a new-API script: route by name, by labels (first healthy)', async (t) => {
      const name = expect.status(await route(t, `${tenant('legacy')}?script=decide`, { 'X-Case': 'name', 'X-Target': 'canary-42' }), 200);
      expect.deepEqual(name, { selected_backend: 'canary-42' }, 'route by name');
      const labels = expect.status(await route(t, `${tenant('legacy')}?script=decide`, { 'X-Case': 'labels', 'X-Version': 'stable' }), 200);
      expect.deepEqual(labels, { selected_backend: 'stable-b' }, 'route by labels');
    }),
    check('respond becomes a rejection with the body as reason; reject keeps its reason', async (t) => {
      const r = expect.status(await route(t, `${tenant('legacy')}?script=decide`, { 'X-Case': 'respond' }), 200);
      expect.deepEqual(r, { reject: true, reject_reason: 'down for maintenance' }, 'respond');
      const j = expect.status(await route(t, `${tenant('legacy')}?script=decide`, { 'X-Case': 'reject' }), 200);
      expect.deepEqual(j, { reject: true, reject_reason: 'missing or unknown API key' }, 'reject');
    }),
    check('edits: headers set and path kept, header removals dropped', async (t) => {
      const a = expect.status(await route(t, `${tenant('legacy')}?script=edits`, { 'X-Case': 'route', 'X-API-Key': 'k' }), 200);
      expect.deepEqual(a, { selected_backend: 'stable', modified_headers: { 'X-Client': 'acme' }, modified_path: '/v2/p' }, 'answer');
    }),
    check('a script failure: 500 with the error', async (t) => {
      const res = await route(t, `${tenant('legacy')}?script=runtime-error`, { 'X-Case': 'explicit' });
      const a = expect.status(res, 500);
      expect.equal(a.decision, 'error', 'decision');
      expect.match(a.error, /runtime-error\.\w+:6: /, 'error');
    }),
    check('?script= gives a new-API script the "body" string as req.body (none without it)', async (t) => {
      const post = (body) => t.post(`/route/${tenant('legacy')}?script=body`, { method: 'POST', path: '/p', headers: { 'X-Case': 'text' }, ...body });
      expect.deepEqual(expect.status(await post({ body: 'héllo' }), 200), { reject: true, reject_reason: '6:héllo' }, 'with "body"');
      expect.deepEqual(expect.status(await post({}), 200), { reject: true, reject_reason: 'none' }, 'without');
    }),
    check('"health" stays lenient: only false and "unhealthy" mean down', async (t) => {
      const health = { down: false, sick: 'unhealthy', path: '/healthz', up: true, one: 1, absent: undefined };
      const backends = Object.entries(health).map(([name, h]) => ({ name, url: 'http://10.0.0.5:8080', health: h }));
      const a = expect.status(await t.post(`/route/${tenant('legacy')}?script=echo`, { method: 'GET', path: '/p', backends }), 200);
      let seen;
      try {
        seen = JSON.parse(a.reject_reason).backends;
      } catch (e) {
        expect.fail(`the echo script's answer: ${expect.show(a)}`);
      }
      const healthy = Object.fromEntries(Object.keys(health).map((n) => [n, seen[n] && seen[n].healthy]));
      expect.deepEqual(healthy, { down: false, sick: false, path: true, up: true, one: true, absent: true }, 'healthy');
    }),
    check('an unknown script: 404', async (t) => {
      expect.errorAnswer(await route(t, `${tenant('legacy')}?script=no-such-script`), 404);
      expect.errorAnswer(await route(t, 'no-such-tenant-script'), 404);
    }),
  ],
};
