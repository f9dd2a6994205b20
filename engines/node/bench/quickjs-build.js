#!/usr/bin/env node
'use strict';
// Script speed in our QuickJS build (quickjs/dist, with an entry's deadline set, so its clock
// reads run as in the engine) against the npm package's build: the median of 5 rounds of each
// snippet, in ms, after one warm-up round (V8 compiles the wasm lazily).
//
//   node engines/node/bench/quickjs-build.js

const { newQuickJSWASMModuleFromVariant, RELEASE_SYNC } = require('quickjs-emscripten');
const { newModule } = require('../lib/quickjs');

const SNIPPETS = {
  loop: 'let s = 0; for (let i = 0; i < 3e6; i++) s += i % 7; return s;',
  props: 'const o = { a: 1, b: 2, c: 3, d: 4 }; let s = 0; for (let i = 0; i < 1e6; i++) { s += o.a + o.b + o.c + o.d; o.a = i & 3; } return s;',
  strings: "const a = []; for (let i = 0; i < 2e5; i++) a.push('k' + i); return a.join(',').length;",
  json: "const d = JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ id: i, name: 'n' + i, tags: ['a', 'b'], ok: true }))); let n = 0; for (let k = 0; k < 5; k++) n += JSON.parse(d).length; return n;",
  map: "const m = new Map(); for (let i = 0; i < 2e5; i++) m.set('k' + i, i); let s = 0; for (let i = 0; i < 2e5; i++) s += m.get('k' + i); return s;",
  calls: 'function f(x) { return x + 1; } let s = 0; for (let i = 0; i < 1e6; i++) s = f(s); let t = 0; for (let i = 0; i < 3e5; i++) t += Math.max(i, 3); return s + t;',
  search: "const a = Array.from({ length: 2000 }, (_, i) => 'item' + i); let n = 0; for (let i = 0; i < 2000; i += 7) n += a.indexOf('item' + i); return n;",
  regex: "const t = 'abc-'.repeat(50000) + 'needle'; let n = 0; for (let i = 0; i < 20; i++) n += /ne+dle|xyz\\d+/i.test(t) ? 1 : 0; return n;",
  objects: "let n = 0; for (let i = 0; i < 3e4; i++) { const o = { a: i, b: [i, i + 1], c: 'x' + i }; n += Object.keys(o).length + o.b.length; } return n;",
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function timings(quickjs, setDeadline) {
  const rt = quickjs.newRuntime();
  rt.setInterruptHandler(() => false);
  const ctx = rt.newContext();
  const out = {};
  for (const [name, code] of Object.entries(SNIPPETS)) {
    const ms = [];
    for (let round = 0; round < 6; round++) {
      if (setDeadline) setDeadline(rt, 60000);
      const t = process.hrtime.bigint();
      const r = ctx.evalCode(`(function () { ${code} })()`);
      if (round > 0) ms.push(Number(process.hrtime.bigint() - t) / 1e6);
      (r.error || r.value).dispose();
    }
    out[name] = median(ms);
  }
  return out;
}

(async () => {
  const npm = timings(await newQuickJSWASMModuleFromVariant(RELEASE_SYNC), null);
  const { quickjs } = await newModule(256 << 20);
  const ours = timings(quickjs, (rt, ms) => quickjs.module._keystone_set_deadline(rt.rt.value, ms));
  console.log('snippet  npm build ms  our build ms  ours/npm');
  for (const name of Object.keys(SNIPPETS)) {
    console.log(`${name.padEnd(8)} ${npm[name].toFixed(1).padStart(12)} ${ours[name].toFixed(1).padStart(13)} ${(ours[name] / npm[name]).toFixed(2).padStart(9)}`);
  }
})();
