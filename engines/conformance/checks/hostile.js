'use strict';
// A hostile tenant: attacks on the engine's limits and attempts to reach the engine's host, each
// CONTAINED: the attack's call ends with an error (limit true where a limit stopped it) or a
// harmless answer, within a few deadlines, and right after it a neighbour tenant (another
// tenant, an ordinary script) gets its normal decision. An escape answers with what it reached,
// which must be exactly "nothing". Uses hostile.* and decide.*.

const expect = require('../lib/expect');
const { tenant } = require('../lib/fixtures');

const FEW_DEADLINES_MS = 3000; // an attack must be stopped well within this
const NEIGHBOUR = tenant('hostile-neighbour');

/** Runs attack `name` for tenant hostile-`who`; the answer, which must come within a few deadlines. */
async function attack(t, name, who = name) {
  const started = Date.now();
  const a = await t.decide('hostile', { headers: { 'X-Attack': name }, tenant: tenant(`hostile-${who}`) });
  const ms = Date.now() - started;
  expect.truthy(ms < FEW_DEADLINES_MS, `${name}: answered after ${ms} ms`);
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * An attack made call after call, for a check that is not about the tenant's time share: a
 * refusal for the time share (docs/scripting.md: the tenant's calls fail until it refills) is
 * waited out, up to 20 s, and the call made again.
 */
// An engine may refuse a tenant for a while: past its time share, or (the Node.js engine) after
// its call broke its isolate ("its calls fail for N s more"). These checks wait as a client would.
async function patientAttack(t, name, who = name) {
  for (let waited = 0; ; waited += 250) {
    const a = await attack(t, name, who);
    if (a.decision !== 'error' || !/time share|its calls fail for \d+ s more/.test(a.error) || waited >= 20000) return a;
    await sleep(250);
  }
}

/** The neighbour tenant, an ordinary script: its normal decision, within a few deadlines. */
async function neighbourDecides(t) {
  const started = Date.now();
  const a = await t.decide('decide', { headers: { 'X-Case': 'name', 'X-Target': 'stable' }, tenant: NEIGHBOUR });
  expect.deepEqual([a.decision, a.backends, a.error], ['route', ['stable'], undefined], "the neighbour's decision");
  expect.truthy(Date.now() - started < FEW_DEADLINES_MS, `the neighbour answered after ${Date.now() - started} ms`);
}

/** An error answer; `limit` and `mentions` checked when given. */
function failed(a, name, { limit, mentions } = {}) {
  expect.equal(a.decision, 'error', `${name}: decision`);
  if (limit !== undefined) expect.equal(a.limit, limit, `${name}: limit (error: ${a.error})`);
  if (mentions) expect.match(a.error, mentions, `${name}: error`);
}

/** An error, or a harmless answer (a decision that carries nothing but what the script made). */
function contained(a, name) {
  if (a.decision === 'error') return;
  expect.truthy(['respond', 'continue', 'route'].includes(a.decision), `${name}: decision ${expect.show(a.decision)}`);
}

const check = (name, run) => ({ name, run });
/** A check: the attack's answer passes `expectation`, then the neighbour decides. */
const limitCheck = (name, title, expectation) => check(title, async (t) => {
  expectation(await attack(t, name), name);
  await neighbourDecides(t);
});
/** An escape: the script answers what it reached, which must be "nothing". */
const escapeCheck = (name, title) => limitCheck(name, title, (a) => {
  expect.deepEqual([a.decision, a.body, a.error], ['respond', 'nothing', undefined], `${name}: what the script reached`);
});

module.exports = {
  group: 'hostile',
  about: 'a hostile tenant: limits hold, nothing of the host is reachable, the neighbour keeps deciding',
  checks: [
    limitCheck('repeat-huge', 'string repetition of 2^31 - 1 characters is an error', (a, n) => failed(a, n)),
    // Round 3 of the attacks on issue 13 (F1, F5).
    limitCheck('builtin-spin', 'a call spinning inside library code far past its deadline is a limit error, not an answer',
      (a, n) => failed(a, n, { limit: true })),
    limitCheck('foreign-route', 'a route to a backend the request did not offer is an error, even past the API',
      (a, n) => failed(a, n, { mentions: /other-tenant-db/ })),
    // The attack on the Node.js engine (FINDINGS F2, F5, F8).
    limitCheck('foreign-target', 'a route whose target the request did not offer is an error, even past the API',
      (a, n) => failed(a, n, { mentions: /other-tenant-db/ })),
    limitCheck('assign-route', 'a route to a backend the request did not offer, with Object.assign replaced, is an error',
      (a, n) => failed(a, n, { mentions: /admin-backend/ })),
    limitCheck('prototype-route', 'a route to a backend the request did not offer, with Array.prototype.map replaced, is an error',
      (a, n) => failed(a, n, { mentions: /admin-backend/ })),
    limitCheck('decision-many-headers', 'a decision with 90,000 header edits is an error', (a, n) => failed(a, n)),
    limitCheck('respond-huge-body', 'respond with a body of 1.5 MiB (above the 1 MiB string limit): limit true',
      (a, n) => failed(a, n, { limit: true })),
    check("a tenant using its whole deadline call after call runs out of its time share; the neighbour doesn't", async (t) => {
      let spent = null;
      for (let i = 0; i < 100 && spent === null; i++) {
        const batch = await Promise.all([1, 2, 3, 4].map(() => attack(t, 'burn')));
        for (const a of batch) {
          failed(a, 'burn', { limit: true });
          if (/time share/.test(a.error)) spent = a;
        }
      }
      expect.truthy(spent !== null, 'burn: 400 calls and no error mentioned the time share');
      await neighbourDecides(t);
    }),
    limitCheck('repeat-negative', 'string repetition with a negative count: an error or ""', contained),
    limitCheck('json-doubling', 'json.encode of a 40-level doubling structure: limit true', (a, n) => failed(a, n, { limit: true })),
    limitCheck('json-refs', 'json.encode of 300 references to a 1 MiB string: limit true', (a, n) => failed(a, n, { limit: true })),
    limitCheck('log-huge', 'log of 300 x 1 MiB: written cut, or an error', contained),
    check('a structure kept across calls growing 1 MiB per call, 60 calls: refused or stopped by a limit', async (t) => {
      const errors = [];
      for (let i = 0; i < 60; i++) {
        const a = await patientAttack(t, 'grow');
        contained(a, `grow, call ${i + 1}`);
        if (a.decision === 'error') errors.push(a);
      }
      expect.truthy(errors.length > 0, 'grow: 60 MiB were kept without an error');
      for (const e of errors) {
        expect.truthy(e.limit === true || /cannot be changed after the script has loaded/.test(e.error),
          `grow: an error that is neither a limit nor the read-only state: ${e.error}`);
      }
      await neighbourDecides(t);
      expect.equal((await patientAttack(t, 'kv-steal', 'grow')).body, 'nothing', 'the growing tenant answers again');
    }),
    limitCheck('loop', 'an endless loop: limit true', (a, n) => failed(a, n, { limit: true })),
    limitCheck('recursion', 'deep recursion: limit true', (a, n) => failed(a, n, { limit: true })),
    check('kv filled with 64 KiB values until "is full"; then cleared', async (t) => {
      let full = null;
      for (let i = 0; i < 200 && full === null; i++) {
        const a = await patientAttack(t, 'kv-fill');
        contained(a, `kv-fill, call ${i + 1}`);
        if (a.decision === 'error' && /kv store of tenant \S+ is full/.test(a.error)) full = a;
      }
      expect.truthy(full !== null, 'kv-fill: 200 calls of 32 x 64 KiB and the store never was full');
      await neighbourDecides(t);
      let cleared = false;
      for (let i = 0; i < 20 && !cleared; i++) cleared = (await patientAttack(t, 'kv-clear', 'kv-fill')).body === 'cleared';
      expect.truthy(cleared, 'kv-clear: the keys could not be deleted');
    }),
    limitCheck('respond-101', 'respond(101) is an error (1xx is not a final answer)', (a, n) =>
      failed(a, n, { limit: false, mentions: /respond: status must be between 200 and 599, got 101/ })),
    limitCheck('header-control', 'a header value with \\x01 is an error', (a, n) =>
      failed(a, n, { limit: false, mentions: /a header value must not contain control characters \(found 0x1\)/ })),
    limitCheck('path-dotdot', "set_path('/../../x') is an error", (a, n) => failed(a, n, { limit: false, mentions: /'\.' or '\.\.' segments/ })),
    limitCheck('path-encoded', "set_path('/%2e%2e/x') is an error", (a, n) => failed(a, n, { limit: false, mentions: /'\.' or '\.\.' segments/ })),
    limitCheck('path-semicolon', "set_path('/..%3b/x') is an error (Tomcat reads it as /../x)", (a, n) => failed(a, n, { limit: false, mentions: /'\.' or '\.\.' segments/ })),
    limitCheck('path-fullwidth', "set_path('/%ef%bc%8e%ef%bc%8e/x') is an error (fullwidth dots)", (a, n) => failed(a, n, { limit: false, mentions: /'\.' or '\.\.' segments/ })),
    limitCheck('path-nul-twice', "set_path('/a/%2500/x') is an error (a NUL encoded twice)", (a, n) => failed(a, n, { limit: false, mentions: /control characters/ })),
    limitCheck('log-forge', "log('x\\nSEVERE forged') is written on one line", (a, n) => expect.equal(a.body, 'logged', `${n}: body`)),
    check('import<!-- c\\n(...) reaches nothing, not even through its rejection', async (t) => {
      expect.equal((await attack(t, 'import-comment')).body, 'nothing', 'import-comment: what the script reached');
      expect.equal((await attack(t, 'import-result', 'import-comment')).body, 'nothing', 'what the rejection reached');
      await neighbourDecides(t);
    }),
    escapeCheck('constructor', "constructor.constructor('return process')() reaches nothing"),
    escapeCheck('function-this', "Function('return this')() is the script's own global"),
    escapeCheck('arrow-constructor', '(() => {}).constructor and the async one reach nothing'),
    escapeCheck('host-errors', "errors thrown by the API, their constructors and the API's functions reach nothing"),
    escapeCheck('globals', 'no process, require, module of the host among the globals'),
    escapeCheck('prepare-stack', 'Error.prepareStackTrace gets no frame of the host'),
    check('a promise job that loops does not run after the call', async (t) => {
      contained(await attack(t, 'promise-loop'), 'promise-loop');
      await neighbourDecides(t);
      const a = await attack(t, 'kv-steal', 'promise-loop');
      expect.equal(a.body, 'nothing', 'the same tenant, next call');
    }),
    escapeCheck('atomics-wait', 'Atomics.wait blocks nothing'),
    escapeCheck('shared-memory', 'no SharedArrayBuffer, Atomics or WebAssembly'),
    escapeCheck('eval', 'eval reaches nothing of the host'),
    limitCheck('getter-decision', "a getter that loops in respond()'s headers: read under the deadline, or not at all", contained),
    limitCheck('proxy-labels', "a Proxy that loops as route_to's labels: read under the deadline, or not at all", contained),
    limitCheck('tojson-loop', 'a toJSON that loops in json.encode: stopped by the deadline, or not run', contained),
    // Attack round 8 on the Node.js engine (N8-1): the tenant was refused for seconds after it.
    check("a client's 990 KB body of 330,000 empty arrays that the script decodes fails that call only: the tenant's next call answers", async (t) => {
      const who = tenant('hostile-decode-body');
      const post = (body) => t.decide('hostile', { headers: { 'X-Attack': 'decode-body' }, tenant: who, request: { method: 'POST', body } });
      const started = Date.now();
      failed(await post(`[${Array(330000).fill('[]').join(',')}]`), 'decode-body');
      expect.truthy(Date.now() - started < FEW_DEADLINES_MS, `decode-body: answered after ${Date.now() - started} ms`);
      let next;
      for (let waited = 0; ; waited += 250) { // a refusal for the time share is waited out, as a client would
        next = await post('[[],[]]');
        if (next.decision !== 'error' || !/time share/.test(next.error) || waited >= 20000) break;
        await sleep(250);
      }
      expect.deepEqual([next.decision, next.body, next.error], ['respond', 'decoded 2', undefined], 'the same tenant, a small body next');
      await neighbourDecides(t);
    }),
    check("another tenant's kv is not readable", async (t) => {
      expect.equal((await attack(t, 'kv-plant', 'kv-victim')).body, 'planted', 'the victim plants a secret');
      expect.equal((await attack(t, 'kv-steal', 'kv-thief')).body, 'nothing', 'what the thief reads');
      await neighbourDecides(t);
    }),
  ],
};
