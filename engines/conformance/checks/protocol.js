'use strict';
// Errors of the exchange itself (docs/engine-protocol.md): 400 {"error"} naming the bad field,
// 404 for an unknown script or endpoint, 413 for a body over 8 MiB (a 1 MiB script_body may be
// 6 MiB of JSON escapes).

const expect = require('../lib/expect');
const { decideBody } = require('../lib/fixtures');

const MIB = 1024 * 1024;
const LIMIT = 8 * MIB;
const check = (name, run, extra = {}) => ({ name, run, ...extra });
const bad = (t, body) => t.post('/v1/decide', body);
// The request's optional string fields: absent or null, else a string.
const OPTIONAL = ['raw_path', 'query', 'host', 'client_ip', 'request_id', 'body', 'body_base64'];
const backend = (fields) => ({ name: 'stable', url: 'http://10.0.0.5:8080', healthy: true, weight: 1, ...fields });

/** A decide body for `decide` (continue) padded with spaces to exactly `size` bytes. */
function padded(size) {
  const text = JSON.stringify(decideBody('decide', { headers: { 'X-Case': 'none' } }));
  return text + ' '.repeat(size - Buffer.byteLength(text));
}

module.exports = {
  group: 'protocol',
  about: '400 for bad bodies and fields (types included), 404 for unknown scripts and paths, 413 above 8 MiB',
  checks: [
    check('a body that is not JSON: 400 {"error"}', async (t) => {
      expect.errorAnswer(await bad(t, 'this is not json'), 400);
    }),
    check('a JSON body that is not an object (an array): 400', async (t) => {
      expect.errorAnswer(await bad(t, '[1, 2]'), 400);
    }),
    check('an empty body: 400', async (t) => {
      expect.errorAnswer(await bad(t, ''), 400);
    }),
    check('no "script": 400 naming it', async (t) => {
      const body = decideBody('decide');
      delete body.script;
      expect.errorAnswer(await bad(t, body), 400, /script/);
    }),
    check('deadline_ms that is not a whole number from 1 to 3600000: 400 naming it; a valid one is kept', async (t) => {
      for (const value of [0, -5, 0.5, '20', 3600001, true]) {
        const body = { ...decideBody('decide', { headers: { 'X-Case': 'none' } }), deadline_ms: value };
        expect.errorAnswer(await bad(t, body), 400, /deadline_ms/);
      }
      // 3600000, the largest valid value: a small one (40 ms was) can pass on a starved host
      const ok = { ...decideBody('decide', { headers: { 'X-Case': 'none' } }), deadline_ms: 3600000 };
      expect.equal(expect.status(await bad(t, ok), 200).decision, 'continue', 'decision with deadline_ms: 3600000');
    }),
    check('an unknown script: 404', async (t) => {
      expect.errorAnswer(await bad(t, decideBody('no-such-script')), 404);
    }),
    check('no "tenant": 400 naming it', async (t) => {
      const body = decideBody('decide');
      delete body.tenant;
      expect.errorAnswer(await bad(t, body), 400, /tenant/);
    }),
    check('no request.path: 400 naming it', async (t) => {
      expect.errorAnswer(await bad(t, decideBody('decide', { request: { path: undefined } })), 400, /path/);
    }),
    check('a header pair that is not [name, value]: 400 naming headers', async (t) => {
      expect.errorAnswer(await bad(t, decideBody('decide', { headers: [['X-Only-A-Name']] })), 400, /header/);
    }),
    check('a header pair with a null value: 400 naming headers', async (t) => {
      expect.errorAnswer(await bad(t, decideBody('decide', { headers: [['X-A', null]] })), 400, /header/);
    }),
    check('a header pair with a number (["X-A", 5]): 400 naming headers, values are strings', async (t) => {
      expect.errorAnswer(await bad(t, decideBody('decide', { headers: [['X-A', 5]] })), 400, /header/);
      expect.errorAnswer(await bad(t, decideBody('decide', { headers: [[5, 'x']] })), 400, /header/);
    }),
    ...OPTIONAL.map((field) => check(`request.${field} that is not a string: 400 naming ${field}`, async (t) => {
      for (const value of [7, true, ['x'], { x: 'y' }]) {
        const res = await bad(t, decideBody('decide', { request: { [field]: value } }));
        expect.errorAnswer(res, 400, new RegExp(field));
      }
    })),
    check(`null optional fields (${OPTIONAL.join(', ')}) count as absent`, async (t) => {
      const request = Object.fromEntries(OPTIONAL.map((f) => [f, null]));
      const a = expect.status(await bad(t, decideBody('decide', { request })), 200);
      expect.equal(a.decision, 'continue', 'decision');
    }),
    check('"backends" that is not a list: 400 naming backends', async (t) => {
      expect.errorAnswer(await bad(t, decideBody('decide', { backends: { stable: { url: 'http://10.0.0.5' } } })), 400, /backends/);
      expect.errorAnswer(await bad(t, decideBody('decide', { backends: 'stable' })), 400, /backends/);
    }),
    check('a backend weight that is not a whole number of at least 1: 400 naming weight', async (t) => {
      for (const weight of [0, -1, 1.5, '2', null]) {
        expect.errorAnswer(await bad(t, decideBody('decide', { backends: [backend({ weight })] })), 400, /weight/);
      }
    }),
    check('a backend "healthy" that is not a boolean: 400 naming healthy', async (t) => {
      for (const healthy of ['yes', 1, 'false']) {
        expect.errorAnswer(await bad(t, decideBody('decide', { backends: [backend({ healthy })] })), 400, /healthy/);
      }
    }),
    check('backend labels that are not an object of strings: 400 naming labels', async (t) => {
      for (const labels of [['stable'], 'version=stable', { version: 1 }, { version: null }]) {
        expect.errorAnswer(await bad(t, decideBody('decide', { backends: [backend({ labels })] })), 400, /labels/);
      }
    }),
    check('a backend with a bad URL: 400 naming backends', async (t) => {
      const backends = [{ name: 'broken', url: 'http://bad host:80', healthy: true }];
      expect.errorAnswer(await bad(t, decideBody('decide', { backends })), 400, /backends/);
    }),
    check('a body over 8 MiB (Content-Length): 413', async (t) => {
      expect.errorAnswer(await bad(t, padded(LIMIT + 1)), 413);
    }),
    check('a body over 8 MiB (chunked, no Content-Length): 413', async (t) => {
      const chunks = [];
      for (let sent = 0; sent <= LIMIT; sent += 64 * 1024) chunks.push(Buffer.alloc(64 * 1024, 0x20));
      expect.errorAnswer(await bad(t, chunks), 413);
    }),
    check('a body of exactly 8 MiB is accepted (a 1 MiB script_body may be 6 MiB of JSON escapes)', async (t) => {
      const a = expect.status(await bad(t, padded(LIMIT)), 200);
      expect.equal(a.decision, 'continue', 'decision');
    }),
    check('an unknown path: 404 {"error"}', async (t) => {
      expect.errorAnswer(await t.post('/v2/decide', decideBody('decide')), 404);
      expect.errorAnswer(await t.get('/nothing-here'), 404);
    }),
    check('GET /v1/decide: 404 or 405', async (t) => {
      const res = await t.get('/v1/decide');
      expect.truthy(res.status === 404 || res.status === 405, `expected 404 or 405, got ${res.status}`);
    }),
  ],
};
