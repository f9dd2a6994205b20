'use strict';
// Request edits (set/remove a header, the path, the query) travel in "edits" next to any
// decision; a removed header is null. Uses scripts/<lang>/edits.*.

const expect = require('../lib/expect');

const check = (name, run) => ({ name, run });
const EDITS = { headers: { 'X-Client': 'acme', 'X-API-Key': null }, path: '/v2/orders', query: 'page=2' };
const edit = (t, kind) => t.decide('edits', { headers: { 'X-Case': kind, 'X-API-Key': 'k-1' }, request: { path: '/orders', query: 'page=1' } });

module.exports = {
  group: 'edits',
  about: 'set_header, remove_header (null), set_path and set_query, with continue, route and respond',
  checks: [
    check('edits with "continue": header set, header removed (null), path, query', async (t) => {
      const a = await edit(t, 'continue');
      expect.equal(a.decision, 'continue', 'decision');
      expect.deepEqual(a.edits, EDITS, 'edits');
    }),
    check('edits apply with "route" too', async (t) => {
      const a = await edit(t, 'route');
      expect.deepEqual([a.decision, a.backends], ['route', ['stable']], '[decision, backends]');
      expect.deepEqual(a.edits, EDITS, 'edits');
    }),
    check('edits apply with "respond" too', async (t) => {
      const a = await edit(t, 'respond');
      expect.deepEqual([a.decision, a.status, a.body], ['respond', 200, 'ok'], '[decision, status, body]');
      expect.deepEqual(a.edits, EDITS, 'edits');
    }),
    check('set_query(nil/null) forwards no query: "query" is ""', async (t) => {
      const a = await edit(t, 'clear-query');
      expect.equal(a.decision, 'continue', 'decision');
      expect.deepEqual(a.edits, { query: '' }, 'edits');
    }),
  ],
};
