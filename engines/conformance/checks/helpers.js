'use strict';
// The helpers of docs/scripting.md: hash (the exact numbers matter: sticky splits must agree
// across engines and versions), random, now and json. Uses scripts/<lang>/helpers.*.

const expect = require('../lib/expect');
const { fnv1a31 } = require('../lib/fnv');

const check = (name, run) => ({ name, run });
const helper = (t, kind, headers = []) => t.decideJson('helpers', { headers: [['X-Case', kind], ...headers] });

// ASCII, 2-, 3- and 4-byte UTF-8, the empty string, and sticky-split style keys.
const HASH_INPUTS = ['', 'a', 'foobar', 'user-42', '203.0.113.7', 'ab_user=3f9a1c', 'grüße', '日本語', '😀 emoji', 'x'.repeat(300)];
// Published FNV-1a 32-bit test vectors (masked to 31 bits): they check the suite's own FNV.
const PUBLISHED = { '': 0x811c9dc5 & 0x7fffffff, a: 0xe40c292c & 0x7fffffff, foobar: 0xbf9cf968 & 0x7fffffff };

module.exports = {
  group: 'helpers',
  about: 'hash() equals FNV-1a/31 bits of the UTF-8 bytes, random() ranges, now(), json.encode/decode',
  checks: [
    check('hash(s) is FNV-1a (32 bit) of the UTF-8 bytes masked to 31 bits', async (t) => {
      for (const [s, v] of Object.entries(PUBLISHED)) expect.equal(fnv1a31(s), v, `the suite's own FNV-1a of ${JSON.stringify(s)}`);
      const got = await helper(t, 'hash', HASH_INPUTS.map((s) => ['X-Hash-Input', s]));
      expect.deepEqual(got, HASH_INPUTS.map(fnv1a31), `hash() of ${HASH_INPUTS.length} inputs`);
    }),
    check('random(), random(n), random(m, n) stay in range, n and m..n are integers', async (t) => {
      const { units, dice, ranges } = await helper(t, 'random');
      const unit = (x) => typeof x === 'number' && x >= 0 && x < 1;
      expect.truthy(units.length === 50 && units.every(unit), `random() in [0, 1): ${expect.show(units)}`);
      expect.truthy(dice.every((x) => Number.isInteger(x) && x >= 1 && x <= 6), `random(6) in 1..6: ${expect.show(dice)}`);
      expect.truthy(ranges.every((x) => Number.isInteger(x) && x >= 5 && x <= 7), `random(5, 7) in 5..7: ${expect.show(ranges)}`);
      expect.truthy(new Set(units).size > 1, 'random() gave the same number 50 times');
    }),
    check('now() is seconds since 1970 (within a minute of this machine)', async (t) => {
      const { now } = await helper(t, 'now');
      expect.truthy(typeof now === 'number' && Math.abs(now - Date.now() / 1000) < 60, `now(): ${expect.show(now)}, here ${Date.now() / 1000}`);
    }),
    check('json.decode and json.encode', async (t) => {
      const got = await helper(t, 'json');
      expect.deepEqual(got, { n: 3, sum: 6, name: 'x', flag: true, k: 'v', text: '{"a":"b"}' }, 'decoded and re-encoded');
    }),
  ],
};
