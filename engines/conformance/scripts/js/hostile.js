// Conformance: a hostile tenant. X-Attack picks the attack (checks/hostile.js). Each attack on
// the engine's limits should end in an error or a harmless answer; each attempt to reach the
// engine's host (its realm, process, modules, another tenant's data) answers with what it found,
// "nothing" when it found nothing.

// What only the host has: none of it may be reachable from a script.
const HOST = ['process', 'require', 'Buffer', 'global', 'setTimeout', 'setImmediate', 'WebAssembly',
  'SharedArrayBuffer', 'Atomics', '__dirname', '__filename', 'std', 'os', 'Deno', 'Bun'];
const MiB = 1024 * 1024;
let kept = []; // "grow": what the tenant keeps between calls
let seenFrames = null;

function attempt(f) {
  try {
    return f();
  } catch (e) {
    return undefined;
  }
}
// The host names present on g (a global object, or anything else).
function hostIn(g) {
  if (g === null || g === undefined) return '';
  return HOST.filter((n) => attempt(() => g[n]) !== undefined).join(',');
}
// Everything reachable from x through constructors: its Function, that Function's global.
function reach(x) {
  if (x === null || x === undefined) return '';
  const found = [];
  for (const make of [() => x.constructor.constructor('return this')(), () => Object.getPrototypeOf(x).constructor.constructor('return globalThis')()]) {
    found.push(hostIn(attempt(make)));
  }
  for (const name of ['process', 'require']) {
    if (attempt(() => x.constructor.constructor(`return ${name}`)()) !== undefined) found.push(name);
  }
  return found.filter((f) => f).join(';');
}
function answer(found) {
  const list = found.filter((f) => f);
  return respond(200, list.length === 0 ? 'nothing' : list.join(' | '));
}
function errorOf(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

const ATTACKS = {
  // ---- limits: an error (limit true where a limit stopped it) or a harmless answer ----------
  'repeat-huge': () => respond(200, String('x'.repeat(2 ** 31 - 1).length)),
  'repeat-negative': () => respond(200, String('x'.repeat(-1).length)),
  'json-doubling': () => {
    let t = 'x';
    for (let i = 0; i < 40; i++) t = [t, t];
    return respond(200, String(json.encode(t).length));
  },
  'json-refs': () => {
    const big = 'x'.repeat(MiB);
    const t = [];
    for (let i = 0; i < 300; i++) t.push(big);
    return respond(200, String(json.encode(t).length));
  },
  'log-huge': () => {
    const big = 'x'.repeat(MiB);
    const args = [];
    for (let i = 0; i < 300; i++) args.push(big);
    log(...args);
    return respond(200, 'logged');
  },
  grow: () => {
    // toUpperCase makes a flat string: QuickJS builds 'x'.repeat(n) as a rope of shared halves.
    kept.push(('x'.repeat(MiB) + kept.length).toUpperCase());
    return respond(200, String(kept.length));
  },
  loop: () => {
    for (;;) { /* endless */ }
  },
  recursion: () => {
    const deeper = (n) => deeper(n + 1) + 1;
    return deeper(0);
  },
  'kv-fill': (req) => {
    const value = 'v'.repeat(64 * 1024);
    for (let i = 0; i < 32; i++) kv.set(`fill-${kv.incr('fill-n')}`, value);
    return respond(200, 'more');
  },
  'kv-clear': () => {
    const n = kv.get('fill-n') || 0;
    for (let i = 1; i <= n; i++) kv.delete(`fill-${i}`);
    kv.delete('fill-n');
    return respond(200, 'cleared');
  },
  'respond-101': () => respond(101, 'switching'),
  'header-control': (req) => req.set_header('X-Evil', 'a\u0001b'),
  'path-dotdot': (req) => req.set_path('/../../x'),
  'path-encoded': (req) => req.set_path('/%2e%2e/x'),
  'path-semicolon': (req) => req.set_path('/..%3b/x'),
  'path-fullwidth': (req) => req.set_path('/%ef%bc%8e%ef%bc%8e/x'),
  'path-nul-twice': (req) => req.set_path('/a/%2500/x'),
  'log-forge': () => {
    log('x\nSEVERE forged');
    return respond(200, 'logged');
  },
  // ---- escapes: the answer is what was reached, "nothing" if nothing -------------------------
  'import-comment': () => {
    let p;
    const e = errorOf(() => { p = eval("import<!-- c\n('x')"); });
    if (p && typeof p.then === 'function') {
      p.then(() => kv.set('import', 'a module was loaded'), (err) => kv.set('import', reach(err) || 'nothing'));
    }
    return answer([e && reach(e)]);
  },
  'import-result': () => respond(200, kv.get('import') || 'nothing'),
  constructor: () => answer([attempt(() => hostIn(constructor.constructor('return this')())),
    attempt(() => (constructor.constructor('return process')() ? 'process' : ''))]),
  'function-this': () => answer([attempt(() => hostIn(Function('return this')()))]),
  'arrow-constructor': () => answer([attempt(() => hostIn((() => {}).constructor('return this')())),
    attempt(() => hostIn((async () => {}).constructor('return this')().constructor))]),
  'host-errors': () => {
    const errors = [
      errorOf(() => route_to('no-such-backend')), errorOf(() => kv.set('', 1)), errorOf(() => json.decode('{')),
      errorOf(() => hash(null)), errorOf(() => respond(101)), errorOf(() => kv.get('k'.repeat(300))),
      errorOf(() => json.encode({ f() {} }.f)),
    ];
    const found = [];
    for (const e of errors) found.push(reach(e), e && reach(e.constructor), e && hostIn(e));
    for (const f of [route_to, respond, reject, hash, log, kv.get, json.encode]) found.push(reach(f), reach(Object.getPrototypeOf(f)));
    return answer(found);
  },
  globals: () => answer([hostIn(globalThis), typeof require, typeof process, attempt(() => typeof module.require) === 'function' ? 'module.require' : '',
    attempt(() => module.constructor !== Object) ? 'a foreign module' : ''].filter((x) => x && x !== 'undefined')),
  'prepare-stack': () => {
    Error.prepareStackTrace = (e, frames) => { seenFrames = frames; return 'prepared'; };
    const e = errorOf(() => route_to('no-such-backend'));
    attempt(() => e.stack);
    const found = [];
    for (const f of seenFrames || []) {
      found.push(reach(attempt(() => f.getThis())), reach(attempt(() => f.getFunction())), hostIn(attempt(() => f.getThis())));
    }
    return answer(found);
  },
  'promise-loop': () => {
    Promise.resolve().then(function spin() { for (;;) { /* after the call? */ } });
    return respond(200, 'queued');
  },
  'atomics-wait': () => {
    const e = errorOf(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10000));
    return answer([e === undefined ? 'Atomics.wait returned' : '']);
  },
  'shared-memory': () => answer([typeof SharedArrayBuffer !== 'undefined' ? 'SharedArrayBuffer' : '',
    typeof Atomics !== 'undefined' ? 'Atomics' : '', typeof WebAssembly !== 'undefined' ? 'WebAssembly' : '']),
  eval: () => answer([attempt(() => eval('typeof process + typeof require')) === 'undefinedundefined' ? '' : 'eval reached the host',
    attempt(() => hostIn((0, eval)('this')))]),
  'getter-decision': (req) => respond(200, 'x', { get 'X-Slow'() { for (;;) { /* read under the deadline? */ } } }),
  'proxy-labels': () => route_to(new Proxy({}, { ownKeys() { for (;;) { /* read under the deadline? */ } } })),
  'tojson-loop': () => json.encode({ toJSON() { for (;;) { /* under the deadline? */ } } }),
  'kv-plant': () => {
    kv.set('secret', 'planted by another tenant');
    return respond(200, 'planted');
  },
  'kv-steal': () => respond(200, kv.get('secret') || 'nothing'),
  // A loop inside a built-in, which the interrupt handler never sees: the call returns late.
  'builtin-spin': () => {
    for (let i = 0; i < 40; i++) Array.prototype.indexOf.call({ length: 2e6 }, 1);
    return respond(200, 'returned');
  },
  // A decision made past the API (toJSON), naming a backend the request did not offer.
  'foreign-route': () => {
    Object.prototype.toJSON = function () {
      if (this.kind === 'continue') return { kind: 'route', target: 'other-tenant-db', backends: ['other-tenant-db'], headerEdits: {} };
      return this;
    };
  },
  // The same, with a backend of the request but a target it did not offer.
  'foreign-target': () => {
    Object.prototype.toJSON = function () {
      if (this.kind === 'continue') return { kind: 'route', target: 'other-tenant-db', backends: ['stable'], headerEdits: {} };
      return this;
    };
  },
  // The API's own helpers replaced: Object.assign records the decision, Array.prototype.map
  // names the backends of a route.
  'assign-route': () => {
    const assign = Object.assign;
    Object.assign = (d, x) => assign(d, x && x.kind === 'route' ? { ...x, backends: ['admin-backend'] } : x);
    return route_to('stable');
  },
  'prototype-route': () => {
    Array.prototype.map = function () { return ['admin-backend']; };
    return route_to('stable');
  },
  // A decision past the API with 90,000 header edits: refused, its size bounded before it is checked.
  'decision-many-headers': () => {
    const headerEdits = {};
    for (let i = 0; i < 90000; i++) headerEdits['h' + i.toString(36)] = '';
    const d = { kind: 'continue', headerEdits };
    Object.prototype.toJSON = function () { return this.kind === 'continue' ? d : this; };
  },
  // A body above the 1 MiB a script's string may have.
  'respond-huge-body': () => respond(200, 'x'.repeat(1.5 * MiB)),
  // Decodes whatever body the client sent (checks/hostile.js sends 330,000 empty arrays).
  'decode-body': (req) => respond(200, `decoded ${json.decode(req.body).length}`),
  // Uses its whole deadline, call after call (the tenant's time share).
  burn: () => {
    for (;;) { /* until the deadline */ }
  },
};

function on_request(req) {
  const attack = ATTACKS[req.headers['X-Attack']];
  if (attack === undefined) return respond(400, `no attack ${req.headers['X-Attack']}`);
  return attack(req);
}
