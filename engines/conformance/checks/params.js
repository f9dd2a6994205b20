'use strict';
// Script parameters (docs/engine-protocol.md, "Script parameters"): the top-level `params` of
// POST /v1/decide and POST /v1/respond reaches the script as req.params / res.params, read-only,
// an empty object without it, never from another call or another tenant; a `params` that is not
// an object, nested deeper than 16 levels, holding a number a double cannot hold, or above 64 KiB
// of JSON is a 400 naming params. scripts/<lang>/params.* answers what it saw (seen(), below);
// its writes stand on lines 9, 10, 11 (on_request) and 19 (on_response).

const expect = require('../lib/expect');
const { decideBody, respondBody, tenant } = require('../lib/fixtures');

const check = (name, run) => ({ name, run });

// Any JSON values: a number, a string, a list, an object with a boolean, a fraction and a null, a
// key and a value beyond ASCII. Five keys at the top.
const PARAMS = { limit: 100, header: 'X-API-Key', list: ['a', 'b', 'c'], nested: { flag: true, ratio: 0.5, none: null }, 'ünï': 'ç✓' };
// What the script reports for PARAMS, and for none (absent values: null or left out, alike).
const SEEN = { kind: 'object', count: 5, limit: 100, header: 'X-API-Key', id: null, unicode: 'ç✓', second: 'b', list_length: 3, flag: true };
const EMPTY = { kind: 'object', count: 0, limit: null, header: null, id: null, unicode: null, second: null, list_length: null, flag: null };
const FIELDS = Object.keys(SEEN);

/** The fields the script reported, absent ones as null. */
function fields(seen) {
  return Object.fromEntries(FIELDS.map((f) => [f, seen[f] ?? null]));
}

/** What on_request saw (the respond decision's body) of these params (undefined: none sent), and its X-Limit edit. */
async function seenBy(t, params, { who = tenant('params'), kind = 'echo' } = {}) {
  const extra = params === undefined ? {} : { params };
  const a = await t.decide('params', { tenant: who, headers: { 'X-Case': kind }, extra });
  if (a.decision !== 'respond') expect.fail(`decision: expected "respond", got ${expect.show(a.decision)} ${a.error ? `(${a.error})` : ''}`);
  let seen;
  try {
    seen = JSON.parse(a.body);
  } catch (e) {
    expect.fail(`the script's body is not JSON: ${expect.show(a.body)}`);
  }
  return { seen: fields(seen), limit: a.edits && a.edits.headers && a.edits.headers['X-Limit'] };
}

/** What on_response saw (its X-Seen edit) of these params (undefined: none sent). */
async function seenByResponse(t, params, { who = tenant('params'), kind = 'echo' } = {}) {
  const extra = params === undefined ? {} : { params };
  const a = await t.respond('params', { tenant: who, headers: [['X-Case', kind]], extra });
  if (a.decision !== undefined) expect.fail(`expected edits, got ${expect.show(a)}`);
  const text = a.headers && a.headers['X-Seen'];
  if (typeof text !== 'string') expect.fail(`expected an X-Seen header edit, got ${expect.show(a)}`);
  return fields(JSON.parse(text));
}

/**
 * A write to params failed the call: an "error" decision, limit false, naming the script's file
 * and the line of the write, or the file without any line (an engine that cannot tell the line:
 * the Go SDK finds the change after the handler returned).
 */
function writeRefused(a, line) {
  expect.equal(a.decision, 'error', `decision (a write to params must fail the call)${a.body ? `; the script answered ${expect.show(a.body)}` : ''}`);
  expect.match(a.error, new RegExp(`params\\.\\w+(:${line})?: `), 'error');
  expect.equal(a.limit, false, 'limit');
}

/** A 400 {"error"} naming params, for a decide (and a respond) body with these params. */
async function refused(t, params, { respond = true } = {}) {
  const decide = decideBody('params', { tenant: tenant('params-bad') });
  decide.params = params;
  expect.errorAnswer(await t.post('/v1/decide', decide), 400, /params/);
  if (respond) {
    const body = respondBody('params', { tenant: tenant('params-bad') });
    body.params = params;
    expect.errorAnswer(await t.post('/v1/respond', body), 400, /params/);
  }
}

/** Objects (or lists, `list`) nested `levels` deep, counting the outermost, with a 1 in the innermost. */
function nested(levels, list = false) {
  let v = list ? [1] : { d: 1 };
  for (let i = 1; i < levels; i++) v = list ? [v] : { d: v };
  return v;
}

module.exports = {
  group: 'params',
  about: 'params reach the script as req.params / res.params, read-only, empty without; no leaks; 400 for bad params',
  checks: [
    check('req.params: the values sent reach on_request (in its answer and in a header edit)', async (t) => {
      const { seen, limit } = await seenBy(t, PARAMS);
      expect.deepEqual(seen, SEEN, 'what the script saw');
      expect.equal(limit, '100', 'X-Limit (params.limit or 10)');
    }),
    check('without params, req.params is an empty object (not nil/null/None), so defaults apply', async (t) => {
      const { seen, limit } = await seenBy(t, undefined);
      expect.deepEqual(seen, EMPTY, 'what the script saw');
      expect.equal(limit, '10', 'X-Limit (params.limit or 10)');
      const a = await t.decide('params', { headers: { 'X-Case': 'default' } });
      expect.equal(a.body, '10', `"default" without params${a.error ? ` (${a.error})` : ''}`);
      const b = await t.decide('params', { headers: { 'X-Case': 'default' }, extra: { params: { limit: 100 } } });
      expect.equal(b.body, '100', `"default" with params${b.error ? ` (${b.error})` : ''}`);
      expect.deepEqual((await seenBy(t, {})).seen, EMPTY, 'with params {}');
    }),
    check('res.params: the values sent reach on_response; without params, an empty object', async (t) => {
      expect.deepEqual(await seenByResponse(t, PARAMS), SEEN, 'what on_response saw');
      expect.deepEqual(await seenByResponse(t, undefined), EMPTY, 'what on_response saw without params');
    }),
    check('params are read-only: a write, also to a nested object or list, fails the call at its line', async (t) => {
      const write = (kind) => t.decide('params', { headers: { 'X-Case': kind }, extra: { params: PARAMS } });
      writeRefused(await write('write'), 9);
      writeRefused(await write('write-nested'), 10);
      writeRefused(await write('write-list'), 11);
      writeRefused(await t.respond('params', { headers: [['X-Case', 'write']], extra: { params: PARAMS } }), 19);
    }),
    check('no leak between calls: a call without params right after one with params (or a failed write) sees an empty object', async (t) => {
      const who = tenant('params-leak');
      for (let round = 0; round < 2; round++) {
        expect.deepEqual((await seenBy(t, PARAMS, { who })).seen, SEEN, `round ${round}: with params`);
        expect.deepEqual((await seenBy(t, undefined, { who })).seen, EMPTY, `round ${round}: without params, next`);
        expect.deepEqual(await seenByResponse(t, PARAMS, { who }), SEEN, `round ${round}: on_response with params`);
        expect.deepEqual(await seenByResponse(t, undefined, { who }), EMPTY, `round ${round}: on_response without params, next`);
      }
      await t.decide('params', { tenant: who, headers: { 'X-Case': 'write' }, extra: { params: PARAMS } });
      await t.respond('params', { tenant: who, headers: [['X-Case', 'write']], extra: { params: PARAMS } });
      expect.deepEqual((await seenBy(t, PARAMS, { who })).seen, SEEN, 'with params, after a write');
      expect.deepEqual((await seenBy(t, undefined, { who })).seen, EMPTY, 'without params, after a write');
      expect.deepEqual(await seenByResponse(t, { limit: 100 }, { who }), { ...EMPTY, count: 1, limit: 100 }, 'on_response, after a write');
    }),
    check('no leak between tenants: tenants calling one script with different params each see their own (80 calls at once)', async (t) => {
      const params = (i) => (i % 5 === 4 ? undefined : { id: `call-${i}`, limit: i });
      const want = (i) => (i % 5 === 4 ? EMPTY : { ...EMPTY, count: 2, id: `call-${i}`, limit: i });
      const calls = Array.from({ length: 80 }, (_, i) => (i % 2 === 0
        ? seenBy(t, params(i), { who: tenant(`params-${i % 4}`) }).then((r) => r.seen)
        : seenByResponse(t, params(i), { who: tenant(`params-${i % 4}`) })));
      (await Promise.all(calls)).forEach((seen, i) => expect.deepEqual(seen, want(i), `call ${i}`));
    }),
    check('params that is not an object (a string, a list, a number, a boolean, null): 400 naming params, on both endpoints', async (t) => {
      for (const bad of ['limit=100', [1, 2], [], 100, true, null]) await refused(t, bad);
    }),
    check('16 levels of objects or lists are accepted; 17 are a 400 naming params', async (t) => {
      expect.deepEqual((await seenBy(t, nested(16))).seen, { ...EMPTY, count: 1 }, '16 levels of objects');
      expect.deepEqual((await seenBy(t, { list: nested(15, true) })).seen, { ...EMPTY, count: 1, list_length: 1 }, '16 levels, lists within');
      await refused(t, nested(17));
      await refused(t, { list: nested(16, true) }, { respond: false });
    }),
    check('at most 64 KiB of JSON, counted in UTF-8 bytes: 60,000 bytes are accepted, 70,000 (or 40,000 two-byte characters) a 400', async (t) => {
      const ascii = (await seenBy(t, { header: 'x'.repeat(60000) })).seen;
      expect.equal(ascii.header && ascii.header.length, 60000, 'the length of a 60,000-character param the script saw');
      const utf8 = (await seenBy(t, { header: 'é'.repeat(30000) })).seen; // 60,000 bytes
      expect.equal(utf8.header, 'é'.repeat(30000), 'a param of 30,000 two-byte characters');
      await refused(t, { header: 'x'.repeat(70000) });
      await refused(t, { header: 'é'.repeat(40000) }, { respond: false }); // 40,000 characters, 80,000 bytes
      await refused(t, { list: Array.from({ length: 20000 }, () => 1234) }, { respond: false }); // 100,000 bytes of numbers
    }),
    check('a number a double cannot hold (1e400): 400 naming params', async (t) => {
      const text = JSON.stringify(decideBody('params', { tenant: tenant('params-bad') })).replace(/}$/, ',"params":{"limit":1e400}}');
      expect.errorAnswer(await t.post('/v1/decide', text), 400, /params/);
    }),
    check('the original POST /route/{tenant} takes no params: a script called there sees an empty object', async (t) => {
      const body = { method: 'GET', path: '/p', headers: { 'X-Case': 'echo' }, params: PARAMS, backends: [] };
      const a = expect.status(await t.post(`/route/${tenant('params-legacy')}?script=params`, body), 200);
      expect.equal(a.reject, true, 'reject (a respond decision in the original format)');
      expect.deepEqual(fields(JSON.parse(a.reject_reason)), EMPTY, 'what the script saw');
    }),
  ],
};
