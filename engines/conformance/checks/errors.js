'use strict';
// Script failures are answers, not broken exchanges: 200 with "decision": "error", an "error"
// naming the script's file and line, and "limit" telling a limit (deadline, budget, depth) from
// the script's own error. Uses runtime-error.*, limits.* and no-entry.*.

const expect = require('../lib/expect');
const { scriptError } = require('../lib/engine');

const check = (name, run) => ({ name, run });
const LIMIT_ANSWER_MS = 5000; // a limit must stop the script long before this

module.exports = {
  group: 'errors',
  about: 'runtime errors name file and line; endless loops and recursion are stopped (limit true)',
  checks: [
    check('an error raised by the script: "error" names runtime-error.<ext>:6, limit false', async (t) => {
      const a = await t.decide('runtime-error', { headers: { 'X-Case': 'explicit' } });
      scriptError(a, { file: 'runtime-error', line: 6, limit: false });
      expect.match(a.error, /boom/, 'error');
    }),
    check('indexing nil/undefined: "error" names runtime-error.<ext>:9, limit false', async (t) => {
      const a = await t.decide('runtime-error', { headers: { 'X-Case': 'nil-index' } });
      scriptError(a, { file: 'runtime-error', line: 9, limit: false });
    }),
    check('an endless loop is stopped: "error" names limits.<ext>, limit true', async (t) => {
      const started = Date.now();
      const a = await t.decide('limits', { headers: { 'X-Case': 'loop' } });
      scriptError(a, { file: 'limits', limit: true });
      expect.truthy(Date.now() - started < LIMIT_ANSWER_MS, `answered after ${Date.now() - started} ms`);
    }),
    check('the engine still answers after stopping a loop (same tenant, same script state)', async (t) => {
      await t.decide('limits', { headers: { 'X-Case': 'loop' } });
      const a = await t.decide('decide', { headers: { 'X-Case': 'name', 'X-Target': 'stable' } });
      expect.deepEqual([a.decision, a.backends], ['route', ['stable']], '[decision, backends]');
      scriptError(await t.decide('limits', { headers: { 'X-Case': 'loop' } }), { file: 'limits', limit: true });
    }),
    check('unbounded recursion is stopped: limit true', async (t) => {
      const a = await t.decide('limits', { headers: { 'X-Case': 'recursion' } });
      scriptError(a, { file: 'limits', limit: true });
    }),
    check('a script without on_request is an error naming it', async (t) => {
      const a = await t.decide('no-entry', {});
      expect.equal(a.decision, 'error', 'decision');
      expect.match(a.error, /no-entry/, 'error');
      expect.equal(a.limit, false, 'limit');
    }),
  ],
};
