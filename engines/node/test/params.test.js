'use strict';
// Script parameters (docs/engine-protocol.md, "Script parameters"): the engine's checks of
// `params` (lib/protocol.js paramsOf) and, against the engine as a process, req.params and
// res.params as scripts see them: deep-frozen inside the isolate (a write throws in strict code,
// is ignored in sloppy code), an empty frozen object without params, never another call's or
// another tenant's.
//   node --test engines/node/test/

const test = require('node:test');
const assert = require('node:assert');
const { paramsOf, BadRequest, MAX_PARAMS_BYTES } = require('../lib/protocol');
const { start, call, decide, agent } = require('./engine-process');

const PARAMS = { limit: 100, header: 'X-API-Key', list: ['a', { b: [1, 2] }], nested: { flag: true, none: null }, 'ünï': 'ç' };

/** Objects nested `levels` deep, counting the outermost. */
function nested(levels) {
  let v = { d: 1 };
  for (let i = 1; i < levels; i++) v = { d: v };
  return v;
}

function refused(params, message) {
  assert.throws(() => paramsOf({ params }), (e) => e instanceof BadRequest && e.message === message, message);
}

test('paramsOf: nothing without params; the JSON text of an object of any JSON values', () => {
  assert.deepStrictEqual(paramsOf({}), {});
  assert.deepStrictEqual(paramsOf({ params: PARAMS }), { params_json: JSON.stringify(PARAMS) });
  assert.deepStrictEqual(paramsOf({ params: {} }), { params_json: '{}' });
});

test('paramsOf: anything but an object is a 400 naming params, null too', () => {
  for (const bad of ['limit=100', [1], [], 5, 1.5, true, false, null]) refused(bad, 'params: a JSON object expected');
});

test('paramsOf: 16 levels of objects or lists are accepted, 17 refused', () => {
  paramsOf({ params: nested(16) });
  paramsOf({ params: { a: JSON.parse(`${'['.repeat(15)}1${']'.repeat(15)}`) } });
  refused(nested(17), 'params: nested deeper than 16 levels');
  refused({ a: JSON.parse(`${'['.repeat(16)}1${']'.repeat(16)}`) }, 'params: nested deeper than 16 levels');
  refused(JSON.parse(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`), 'params: nested deeper than 16 levels');
});

test('paramsOf: at most 64 KiB of compact JSON, counted in UTF-8 bytes', () => {
  const around = '{"h":""}'.length;
  paramsOf({ params: { h: 'x'.repeat(MAX_PARAMS_BYTES - around) } });
  refused({ h: 'x'.repeat(MAX_PARAMS_BYTES - around + 1) }, 'params: larger than 65536 bytes');
  paramsOf({ params: { h: 'é'.repeat((MAX_PARAMS_BYTES - around) / 2) } });
  refused({ h: 'é'.repeat((MAX_PARAMS_BYTES - around) / 2 + 1) }, 'params: larger than 65536 bytes'); // 32,765 characters
  refused({ h: '"'.repeat(40000) }, 'params: larger than 65536 bytes'); // escaped: 80,000 bytes
  refused({ list: Array.from({ length: 20000 }, () => 1234) }, 'params: larger than 65536 bytes');
  // Megabytes are refused from the walk's lower bound, before they are written out as JSON.
  refused({ h: 'x'.repeat(8 << 20) }, 'params: larger than 65536 bytes');
  refused({ list: Array.from({ length: 1 << 20 }, () => ({})) }, 'params: larger than 65536 bytes');
});

test('paramsOf: a number a double cannot hold (1e400, which JSON.parse makes Infinity) is refused', () => {
  refused(JSON.parse('{"a":1e400}'), 'params: a number out of range');
  refused(JSON.parse('{"a":[-1e400]}'), 'params: a number out of range');
  paramsOf({ params: JSON.parse('{"a":1e300,"b":1e-400}') });
});

const ECHO = `'use strict';
function on_request(req) {
  const p = req.params;
  switch (req.headers['X-Case']) {
    case 'write': p.limit = 5; break;
    case 'write-nested': p.list[1].b.push(3); break;
    case 'define': Object.defineProperty(p, 'x', { value: 1 }); break;
    case 'delete': delete p.nested.flag; break;
    case 'default': return respond(200, String(p.limit || 10));
  }
  const frozen = (v) => v === null || typeof v !== 'object' || (Object.isFrozen(v) && Object.values(v).every(frozen));
  req.set_header('X-Frozen', String(frozen(p)));
  return respond(200, JSON.stringify(p));
}
function on_response(res) {
  if (res.headers['X-Case'] === 'write') res.params.limit = 5;
  res.set_header('X-Seen', JSON.stringify(res.params));
}`;

const SLOPPY = `function on_request(req) {
  req.params.limit = 5;
  req.params.added = 1;
  delete req.params.header;
  return respond(200, JSON.stringify(req.params));
}`;

const KEEP = `'use strict';
let kept = null;
function on_request(req) {
  const before = kept === null ? null : JSON.stringify(kept);
  kept = req.params;
  return respond(200, JSON.stringify({ before, now: req.params }));
}`;

const BACKENDS = [{ name: 'app', url: 'http://127.0.0.1:9', healthy: true, weight: 1, labels: {} }];
const decideBody = (tenant, script, extra = {}, headers = []) => ({
  version: 1, tenant, script, request: { method: 'GET', path: '/', headers }, backends: BACKENDS, ...extra,
});
const respondBody = (tenant, script, extra = {}, headers = []) => ({
  version: 1, tenant, script, request: { method: 'GET', path: '/', headers: [] }, response: { status: 200, headers }, ...extra,
});

/** The 200 answer of /v1/decide for `script` with these params (undefined: none) and X-Case `kind`. */
async function answer(e, tenant, script, params, kind = 'echo') {
  const r = await call(e.socket, 'POST', '/v1/decide', decideBody(tenant, script, params === undefined ? {} : { params }, [['X-Case', kind]]));
  assert.strictEqual(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

test('req.params and res.params: the values sent, deep-frozen; an empty frozen object without params', async () => {
  const e = await start({ echo: ECHO });
  try {
    const a = await answer(e, 't', 'echo', PARAMS);
    assert.strictEqual(a.decision, 'respond', JSON.stringify(a));
    assert.deepStrictEqual(JSON.parse(a.body), PARAMS);
    assert.strictEqual(a.edits.headers['X-Frozen'], 'true');
    const none = await answer(e, 't', 'echo', undefined);
    assert.deepStrictEqual([none.body, none.edits.headers['X-Frozen']], ['{}', 'true']);
    const def = await answer(e, 't', 'echo', undefined, 'default');
    assert.strictEqual(def.body, '10');
    const r = await call(e.socket, 'POST', '/v1/respond', respondBody('t', 'echo', { params: PARAMS }));
    assert.deepStrictEqual(JSON.parse(r.body.headers['X-Seen']), PARAMS);
    const rNone = await call(e.socket, 'POST', '/v1/respond', respondBody('t', 'echo'));
    assert.strictEqual(rNone.body.headers['X-Seen'], '{}');
  } finally {
    await e.stop();
  }
});

test('a write to params throws in strict code (an error naming the line), is ignored in sloppy code', async () => {
  const e = await start({ echo: ECHO, sloppy: SLOPPY });
  try {
    for (const [kind, line] of [['write', 5], ['write-nested', 6], ['define', 7], ['delete', 8]]) {
      const a = await answer(e, 't', 'echo', PARAMS, kind);
      assert.strictEqual(a.decision, 'error', kind);
      assert.match(a.error, new RegExp(`echo\\.js:${line}: TypeError`), kind);
      assert.strictEqual(a.limit, false);
    }
    const r = await call(e.socket, 'POST', '/v1/respond', respondBody('t', 'echo', { params: PARAMS }, [['X-Case', 'write']]));
    assert.strictEqual(r.body.decision, 'error');
    assert.match(r.body.error, /echo\.js:16: TypeError/);
    const s = await answer(e, 't', 'sloppy', { limit: 100, header: 'X-Key' });
    assert.strictEqual(s.body, '{"limit":100,"header":"X-Key"}', 'the writes had no effect');
    const sNone = await answer(e, 't', 'sloppy', undefined);
    assert.strictEqual(sNone.body, '{}', 'nor on an empty params');
  } finally {
    await e.stop();
  }
});

test('params never leak: the next call, and a kept reference, keep their own; tenants at once each see their own', async () => {
  const e = await start({ echo: ECHO, keep: KEEP });
  try {
    for (let i = 0; i < 2; i++) {
      assert.strictEqual((await answer(e, 'a', 'echo', { limit: 100 })).body, '{"limit":100}');
      assert.strictEqual((await answer(e, 'a', 'echo', undefined)).body, '{}');
      assert.strictEqual((await answer(e, 'a', 'echo', { limit: 100 }, 'write')).decision, 'error');
      assert.strictEqual((await answer(e, 'a', 'echo', undefined)).body, '{}');
      assert.strictEqual((await answer(e, 'a', 'echo', { limit: 100 })).body, '{"limit":100}');
    }
    // A script's own global keeps the object it was given, frozen as it was; the next call gets a new one.
    await answer(e, 'k', 'keep', { limit: 1 });
    const next = JSON.parse((await answer(e, 'k', 'keep', undefined)).body);
    assert.deepStrictEqual(next, { before: '{"limit":1}', now: {} });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => answer(e, `t${i % 4}`, 'echo', i % 5 === 0 ? undefined : { id: i })));
    answers.forEach((a, i) => assert.strictEqual(a.body, i % 5 === 0 ? '{}' : `{"id":${i}}`, `call ${i}`));
  } finally {
    await e.stop();
  }
});

test('bad params are a 400 naming params on both endpoints; the original /route format ignores params', async () => {
  const e = await start({ echo: ECHO });
  try {
    for (const bad of ['x', [1], null, 5, nested(17), { h: 'x'.repeat(70000) }]) {
      const d = await decide(e.socket, 't', 'echo', { params: bad });
      assert.strictEqual(d.status, 400);
      assert.match(d.body.error, /^params: /);
      const r = await call(e.socket, 'POST', '/v1/respond', respondBody('t', 'echo', { params: bad }));
      assert.strictEqual(r.status, 400);
      assert.match(r.body.error, /^params: /);
    }
    assert.strictEqual((await decide(e.socket, 't', 'nope', { params: 'x' })).status, 404, 'an unknown script first');
    const legacy = await call(e.socket, 'POST', '/route/t?script=echo', { method: 'GET', path: '/', params: PARAMS });
    assert.deepStrictEqual([legacy.status, legacy.body.reject_reason], [200, '{}']);
  } finally {
    await e.stop();
  }
});

test.after(() => agent.destroy());
