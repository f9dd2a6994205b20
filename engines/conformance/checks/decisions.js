'use strict';
// Every decision kind with its exact answer shape (docs/engine-protocol.md, "Answer"), using
// scripts/<lang>/decide.*, which picks the decision from the X-Case header.

const expect = require('../lib/expect');

const check = (name, run) => ({ name, run });
const decide = (t, headers) => t.decide('decide', { headers });

/** Edits are optional: absent, or an empty object, when the script edited nothing. */
function noEdits(a) {
  expect.truthy(a.edits === undefined || Object.keys(a.edits).length === 0, `no edits expected, got ${expect.show(a.edits)}`);
}

module.exports = {
  group: 'decisions',
  about: 'continue, route by name and by labels, respond, reject, and the last decision wins',
  checks: [
    check('no decision is "continue"', async (t) => {
      const a = await decide(t, { 'X-Case': 'none' });
      expect.equal(a.decision, 'continue', 'decision');
      noEdits(a);
    }),
    check('route_to(name) routes to exactly that backend', async (t) => {
      const a = await decide(t, { 'X-Case': 'name', 'X-Target': 'canary-42' });
      expect.deepEqual(a, { version: 1, decision: 'route', target: 'canary-42', backends: ['canary-42'] }, 'answer');
    }),
    check('route_to(name) of an unhealthy backend still routes (the gateway answers 503)', async (t) => {
      const a = await decide(t, { 'X-Case': 'name', 'X-Target': 'stable-b' });
      expect.deepEqual([a.decision, a.target, a.backends], ['route', 'stable-b', ['stable-b']], '[decision, target, backends]');
    }),
    check('route_to({labels}) lists every backend with the labels, unhealthy too, in order', async (t) => {
      const a = await decide(t, { 'X-Case': 'labels', 'X-Version': 'stable' });
      expect.deepEqual(a, { version: 1, decision: 'route', target: '{version=stable}', backends: ['stable', 'stable-b'] }, 'answer');
    }),
    check('route_to({labels}) with two labels needs both', async (t) => {
      const a = await decide(t, { 'X-Case': 'two-labels' });
      expect.equal(a.decision, 'route', 'decision');
      expect.deepEqual(a.backends, ['canary-42'], 'backends');
      // The order of labels in the target text is the script language's table order.
      expect.match(a.target, /^\{(version=canary, zone=b|zone=b, version=canary)\}$/, 'target');
    }),
    check('respond(status, body, headers)', async (t) => {
      const a = await decide(t, { 'X-Case': 'respond' });
      expect.deepEqual(a, {
        version: 1, decision: 'respond', status: 503, body: 'down for maintenance',
        headers: { 'Retry-After': '600', 'Content-Type': 'text/plain' },
      }, 'answer');
    }),
    check('respond(status) alone has an empty body and no headers', async (t) => {
      const a = await decide(t, { 'X-Case': 'respond-plain' });
      expect.deepEqual([a.decision, a.status, a.body], ['respond', 204, ''], '[decision, status, body]');
      expect.truthy(a.headers === undefined || Object.keys(a.headers).length === 0, `headers: expected none, got ${expect.show(a.headers)}`);
    }),
    check('reject(status, reason)', async (t) => {
      const a = await decide(t, { 'X-Case': 'reject' });
      expect.deepEqual(a, { version: 1, decision: 'reject', status: 401, reason: 'missing or unknown API key' }, 'answer');
    }),
    check('the last decision call wins (route_to, then reject)', async (t) => {
      const a = await decide(t, { 'X-Case': 'last-wins' });
      expect.deepEqual([a.decision, a.status, a.reason], ['reject', 403, 'changed my mind'], '[decision, status, reason]');
    }),
  ],
};
