'use strict';
// The response phase (docs/engine-protocol.md, "POST /v1/respond"; docs/scripting.md, "The
// response"): decide answers say "on_response": true exactly when the script has on_response;
// POST /v1/respond runs it on the backend's response head and answers the status and header
// edits, or a script error. Uses response.* (X-Case is a header of the response) and decide.*.

const expect = require('../lib/expect');
const { scriptError } = require('../lib/engine');
const { respondBody, tenant } = require('../lib/fixtures');

const check = (name, run) => ({ name, run });
const LIMIT_ANSWER_MS = 5000;
const on = (t, kind, opts = {}) => t.respond('response', { ...opts, headers: [['X-Case', kind], ...(opts.headers || [])] });
const setStatus = (t, from, to) => on(t, 'set-status', { status: from, headers: [['X-To', String(to)]] });
const bad = (t, body) => t.post('/v1/respond', body);
/** A respond body whose `response` is replaced by `response` (undefined: left out). */
function withResponse(response) {
  const body = respondBody('response');
  if (response === undefined) delete body.response;
  else body.response = response;
  return body;
}

/** The answer of on_response: no error, the status, and the header edits (absent counts as {}). */
function edits(a, status, headers) {
  if (a.decision !== undefined) expect.fail(`expected edits, got ${expect.show(a)}`);
  expect.equal(a.status, status, 'status');
  expect.deepEqual(a.headers ?? {}, headers, 'headers');
}

module.exports = {
  group: 'respond',
  about: 'the on_response flag; POST /v1/respond: status and header edits, forbidden changes, res fields, 400/404',
  checks: [
    check('decide says "on_response": true when the script has on_response', async (t) => {
      const a = await t.decide('response');
      expect.deepEqual([a.decision, a.on_response], ['continue', true], '[decision, on_response]');
    }),
    check('no "on_response" without on_response, nor on a script error', async (t) => {
      const a = await t.decide('decide', { headers: { 'X-Case': 'name', 'X-Target': 'stable' } });
      expect.deepEqual([a.decision, a.on_response], ['route', undefined], '[decision, on_response]');
      const e = await t.decide('response', { headers: { 'X-Case': 'fail' } });
      scriptError(e, { file: 'response', line: 5, limit: false });
      expect.equal(e.on_response, undefined, 'on_response of an error');
    }),
    check('set_status(418), set_header and remove_header: {"status": 418, "headers": {..., "X-Internal": null}}', async (t) => {
      const a = await on(t, 'teapot', { headers: [['X-Internal', '1']] });
      edits(a, 418, { 'X-Served-By': 'canary-42', 'X-Internal': null });
    }),
    check('nothing changed: the status as it was, no header edits', async (t) => {
      edits(await on(t, 'none'), 200, {});
      edits(await on(t, 'none', { status: 503 }), 503, {});
    }),
    check('500 to 599 is allowed; a 304 keeps its status and gets a header', async (t) => {
      edits(await setStatus(t, 500, 599), 599, {});
      edits(await on(t, 'header-only', { status: 304 }), 304, { 'X-Note': 'kept' });
    }),
    check('set_status from 200 to 204 or 304 (no body) is a script error at its line', async (t) => {
      for (const to of [204, 304]) scriptError(await setStatus(t, 200, to), { file: 'response', line: 17, limit: false });
    }),
    check('set_status of a 204 or 304 response (to 200) is a script error', async (t) => {
      for (const from of [204, 304]) scriptError(await setStatus(t, from, 200), { file: 'response', line: 17, limit: false });
    }),
    check('set_status outside 200-599 (600, 199), or of a 101 response, is a script error', async (t) => {
      scriptError(await setStatus(t, 200, 600), { file: 'response', line: 17, limit: false });
      scriptError(await setStatus(t, 200, 199), { file: 'response', line: 17, limit: false });
      scriptError(await setStatus(t, 101, 200), { file: 'response', line: 17, limit: false });
    }),
    check('res.set_header("Content-Length") and res.remove_header("transfer-encoding") are script errors', async (t) => {
      const a = await on(t, 'framing');
      scriptError(a, { file: 'response', line: 21, limit: false });
      expect.match(a.error, /Content-Length/, 'error');
      scriptError(await on(t, 'framing-remove'), { file: 'response', line: 23, limit: false });
    }),
    check('res.set_header with CR LF in the value, or a name with a space, is a script error', async (t) => {
      scriptError(await on(t, 'crlf'), { file: 'response', line: 25, limit: false });
      scriptError(await on(t, 'bad-name'), { file: 'response', line: 27, limit: false });
    }),
    check('res.set_header 101 times is a script error at its line (at most 100 headers per response)', async (t) => {
      const a = await on(t, 'too-many');
      scriptError(a, { file: 'response', line: 43, limit: false });
      expect.match(a.error, /at most 100 headers/, 'error');
    }),
    check('an error raised in on_response: "error" names response.<ext>:29, limit false', async (t) => {
      const a = await on(t, 'boom');
      scriptError(a, { file: 'response', line: 29, limit: false });
      expect.match(a.error, /boom in on_response/, 'error');
    }),
    check('an endless loop in on_response is stopped with limit true; the engine answers afterwards', async (t) => {
      const started = Date.now();
      scriptError(await on(t, 'loop'), { file: 'response', limit: true });
      expect.truthy(Date.now() - started < LIMIT_ANSWER_MS, `answered after ${Date.now() - started} ms`);
      edits(await on(t, 'teapot'), 418, { 'X-Served-By': 'canary-42', 'X-Internal': null });
    }),
    check('res: status, backend, method, path, tenant, request_id; headers ignore case, first value, none missing', async (t) => {
      const a = await on(t, 'echo', {
        status: 202,
        backend: 'stable-b',
        headers: [['Content-Type', 'text/html'], ['X-Multi', 'one'], ['x-multi', 'two']],
        request: { method: 'POST', path: '/orders/7', request_id: 'req-77' },
        tenant: tenant('res'),
      });
      edits(a, 202, { 'X-Seen': a.headers && a.headers['X-Seen'] });
      const seen = JSON.parse(a.headers['X-Seen']);
      const FIELDS = ['status', 'backend', 'method', 'path', 'tenant', 'request_id', 'content_type', 'first_multi'];
      const pick = (o) => Object.fromEntries(FIELDS.map((f) => [f, o[f]]));
      const want = { status: 202, backend: 'stable-b', method: 'POST', path: '/orders/7', tenant: tenant('res'), request_id: 'req-77' };
      expect.deepEqual(pick(seen), pick({ ...want, content_type: 'text/html', first_multi: 'one' }), 'res fields');
      expect.truthy(seen.missing == null, `a header that was not sent: expected nothing, got ${expect.show(seen.missing)}`);
    }),
    check("on_response uses the tenant's key/value store (what on_request counted), not another tenant's", async (t) => {
      const mine = tenant('res-kv');
      for (let i = 0; i < 2; i++) await t.decide('response', { tenant: mine });
      const seen = (a) => JSON.parse(a.headers['X-Seen']);
      expect.equal(seen(await on(t, 'echo', { tenant: mine })).decided, 2, 'kv "decided" of this tenant');
      const other = seen(await on(t, 'echo', { tenant: tenant('res-kv-other') })).decided;
      expect.truthy(other == null, `another tenant's store: expected nothing, got ${expect.show(other)}`);
    }),
    check('a script without on_response: the status unchanged, no edits', async (t) => {
      for (const status of [200, 204]) edits(await t.respond('decide', { status }), status, {});
    }),
    check('no "response", or one that is not an object: 400 naming response', async (t) => {
      for (const r of [undefined, null, [], 'x']) expect.errorAnswer(await bad(t, withResponse(r)), 400, /response/);
    }),
    check('response.status missing, not a whole number, or outside 100-599: 400 naming response.status', async (t) => {
      for (const status of [undefined, '200', null, 99, 600, 200.5]) {
        expect.errorAnswer(await bad(t, withResponse({ status, headers: [] })), 400, /response\.status/);
      }
    }),
    check('response.backend that is not a string: 400 naming response.backend', async (t) => {
      for (const backend of [5, ['a'], { name: 'a' }]) {
        expect.errorAnswer(await bad(t, withResponse({ status: 200, backend })), 400, /response\.backend/);
      }
    }),
    check('response.headers not a list of two-string pairs: 400 naming response.headers', async (t) => {
      for (const headers of [{ 'X-A': '1' }, 'X-A: 1', [['X-A']], [['X-A', '1', '2']], [['X-A', null]], [['X-A', 5]], ['X-A']]) {
        expect.errorAnswer(await bad(t, withResponse({ status: 200, headers })), 400, /response\.headers/);
      }
    }),
    check('no "tenant", no "script", no request.path: 400 naming it', async (t) => {
      for (const field of ['tenant', 'script']) {
        const body = respondBody('response');
        delete body[field];
        expect.errorAnswer(await bad(t, body), 400, new RegExp(field));
      }
      expect.errorAnswer(await bad(t, respondBody('response', { request: { path: undefined } })), 400, /path/);
    }),
    check('an unknown script: 404; GET /v1/respond: 404 or 405', async (t) => {
      expect.errorAnswer(await bad(t, respondBody('no-such-script')), 404);
      const res = await t.get('/v1/respond');
      expect.truthy(res.status === 404 || res.status === 405, `expected 404 or 405, got ${res.status}`);
    }),
  ],
};
