'use strict';
// GET /health and POST /reload (docs/engine-protocol.md, "The original engine's endpoints").
// Two checks need more than the engine's address and are skipped without it: --scripts-dir (the
// engine's directory, to drop a broken script in and take it out again) and --pid (for SIGHUP).

const fs = require('fs');
const path = require('path');
const expect = require('../lib/expect');
const { tenant } = require('../lib/fixtures');
const { extensionIn, heavyScripts } = require('../lib/heavy-scripts');

const check = (name, run, extra = {}) => ({ name, run, ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function health(t) {
  return expect.status(await t.get('/health'), 200);
}

/** The engine still serves the scripts it had: a plain decision works. */
async function stillServing(t) {
  const a = await t.decide('decide', { headers: { 'X-Case': 'reject' } });
  expect.deepEqual([a.decision, a.status], ['reject', 401], 'a decision after the reload');
}

/** Copies scripts/<lang>/_broken/* into the engine's directory for the duration of `body`. */
async function withBrokenScripts(dir, body) {
  const brokenDir = path.join(dir, '_broken');
  const copied = fs.readdirSync(brokenDir).map((f) => path.join(dir, f));
  try {
    for (const f of copied) fs.copyFileSync(path.join(brokenDir, path.basename(f)), f);
    await body(copied.map((f) => path.basename(f)));
  } finally {
    for (const f of copied) fs.rmSync(f, { force: true });
  }
}

/**
 * Writes the heavy script `name` (lib/heavy-scripts.js) into the engine's directory for the
 * duration of `body(file)`, then removes it and reloads. Nothing to do for a language the suite
 * has no heavy scripts for.
 */
async function withHeavyScript(t, name, body) {
  const dir = t.options.scriptsDir;
  const ext = extensionIn(dir);
  const scripts = heavyScripts(ext);
  if (scripts === null) return;
  const file = path.join(dir, `${name}.${ext}`);
  try {
    fs.writeFileSync(file, scripts[name]);
    await body(`${name}.${ext}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
  expect.equal(expect.status(await t.post('/reload'), 200).reloaded, true, `reload once ${name} is gone`);
  await stillServing(t);
}

/** A reload with a heavy script: refused (422) with an error naming it, or loaded (200). */
function refusedNamingOrLoaded(r, file) {
  if (r.status === 200) return;
  const body = expect.status(r, 422);
  const named = Array.isArray(body.errors) && body.errors.some((e) => typeof e === 'string' && e.includes(file));
  expect.truthy(named, `errors: expected one naming ${file}, got ${expect.show(body.errors)}`);
}

module.exports = {
  group: 'admin',
  about: 'GET /health fields, POST /reload, a reload with a syntax error (422), SIGHUP',
  checks: [
    check('GET /health: status, scripts, scripts_version, protocol', async (t) => {
      const h = await health(t);
      expect.equal(h.status, 'healthy', 'status');
      expect.equal(h.protocol, 1, 'protocol');
      // At least the conformance scripts: decide echo edits helpers kv legacy limits misuse no-entry runtime-error
      expect.truthy(Number.isInteger(h.scripts) && h.scripts >= 10, `scripts: expected >= 10, got ${expect.show(h.scripts)}`);
      expect.truthy(Number.isInteger(h.scripts_version) && h.scripts_version >= 1, `scripts_version: ${expect.show(h.scripts_version)}`);
    }),
    check('POST /reload: 200, reloaded, scripts_version goes up by one', async (t) => {
      const before = (await health(t)).scripts_version;
      const r = expect.status(await t.post('/reload'), 200);
      expect.equal(r.reloaded, true, 'reloaded');
      expect.equal(r.scripts_version, before + 1, 'scripts_version in the answer');
      expect.equal((await health(t)).scripts_version, before + 1, 'scripts_version in /health');
      await stillServing(t);
    }),
    check('POST /reload with a syntax error: 422 naming file and line, old scripts stay', async (t) => {
      const before = (await health(t)).scripts_version;
      await withBrokenScripts(t.options.scriptsDir, async () => {
        const r = expect.status(await t.post('/reload'), 422);
        expect.equal(r.reloaded, false, 'reloaded');
        expect.truthy(Array.isArray(r.errors) && r.errors.length === 1, `errors: expected one, got ${expect.show(r.errors)}`);
        expect.match(r.errors[0], /syntax-error\.\w+:4: /, 'errors[0]');
        expect.equal((await health(t)).scripts_version, before, 'scripts_version after the refused reload');
        await stillServing(t);
      });
      expect.equal(expect.status(await t.post('/reload'), 200).reloaded, true, 'reload once the broken script is gone');
    }, { needs: 'scriptsDir' }),
    // The attack on the Node.js engine (FINDINGS F6, F7): compiling is bounded.
    check('a script nesting 5,000 parentheses: refused naming its file (or loaded); the others keep serving', async (t) => {
      await withHeavyScript(t, 'nested', async (file) => {
        refusedNamingOrLoaded(await t.post('/reload'), file);
        await stillServing(t);
      });
    }, { needs: 'scriptsDir' }),
    check('a script file above 1 MiB: refused naming its file (or loaded); the others keep serving', async (t) => {
      await withHeavyScript(t, 'huge', async (file) => {
        refusedNamingOrLoaded(await t.post('/reload'), file);
        await stillServing(t);
      });
    }, { needs: 'scriptsDir' }),
    check('a script slow to compile does not hold up the other tenants while the engine reloads', async (t) => {
      await withHeavyScript(t, 'slow-compile', async (file) => {
        const done = [];
        const reload = t.post('/reload').then((r) => { done.push('reload'); return r; });
        await sleep(300); // the engine has the reload by now
        const reloadedFirst = done.includes('reload');
        const a = await t.decide('decide', { headers: { 'X-Case': 'name', 'X-Target': 'stable' }, tenant: tenant('admin-neighbour') });
        done.push('decide');
        expect.deepEqual([a.decision, a.backends], ['route', ['stable']], "the neighbour's decision");
        const r = await reload;
        expect.truthy(reloadedFirst || done[0] === 'decide', 'the neighbour was answered only after the reload');
        refusedNamingOrLoaded(r, file);
      });
    }, { needs: 'scriptsDir' }),
    check('SIGHUP reloads the scripts', async (t) => {
      const before = (await health(t)).scripts_version;
      process.kill(t.options.pid, 'SIGHUP');
      for (let i = 0; i < 50 && (await health(t)).scripts_version === before; i++) await sleep(100);
      expect.equal((await health(t)).scripts_version, before + 1, 'scripts_version after SIGHUP');
      await stillServing(t);
    }, { needs: 'pid' }),
  ],
};
