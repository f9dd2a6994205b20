'use strict';
// Many requests at once, as a gateway sends them: every answer must be the one for its own
// request (no state leaks between calls), kv.incr must not lose updates, and scripts that hit a
// limit must not hold up the others for long.

const expect = require('../lib/expect');
const { tenant } = require('../lib/fixtures');
const { scriptError } = require('../lib/engine');

const check = (name, run) => ({ name, run });

module.exports = {
  group: 'concurrency',
  about: '200 parallel requests answered correctly, parallel kv.incr, loops mixed with normal calls',
  checks: [
    check('200 parallel requests over 4 tenants each get their own answer', async (t) => {
      const calls = Array.from({ length: 200 }, (_, i) => t.decideJson('echo', {
        tenant: tenant(`par-${i % 4}`),
        request: { method: 'GET', path: `/item/${i}`, request_id: `r-${i}`, query: `i=${i}` },
        headers: [['X-Deploy-ID', String(i)]],
      }));
      const seen = await Promise.all(calls);
      seen.forEach((s, i) => {
        const got = [s.path, s.request_id, s.query.i, s.deploy_id, s.tenant];
        expect.deepEqual(got, [`/item/${i}`, `r-${i}`, String(i), String(i), tenant(`par-${i % 4}`)], `request ${i}`);
      });
    }),
    check('100 parallel kv.incr on one key give 1..100 exactly once each', async (t) => {
      const who = tenant('par-kv');
      const calls = Array.from({ length: 100 }, () => t.decide('kv', { headers: { 'X-Op': 'incr', 'X-Key': 'n' }, tenant: who }));
      const values = (await Promise.all(calls)).map((a) => a.body ?? `error: ${a.error}`);
      const byCount = (a, b) => Number(a.split(':')[1]) - Number(b.split(':')[1]);
      expect.deepEqual(values.sort(byCount), Array.from({ length: 100 }, (_, i) => `number:${i + 1}`), 'the counters seen');
    }),
    check('endless loops in parallel with normal calls: all answered', async (t) => {
      const loop = () => t.decide('limits', { headers: { 'X-Case': 'loop' } });
      const normal = () => t.decide('decide', { headers: { 'X-Case': 'name', 'X-Target': 'canary-43' } });
      const answers = await Promise.all(Array.from({ length: 55 }, (_, i) => (i % 11 === 0 ? loop() : normal())));
      answers.forEach((a, i) => {
        if (i % 11 === 0) scriptError(a, { file: 'limits', limit: true });
        else expect.deepEqual(a.backends, ['canary-43'], `backends of call ${i}`);
      });
    }),
  ],
};
