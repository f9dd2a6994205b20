'use strict';
// GET /health and POST /reload (docs/engine-protocol.md, "The original engine's endpoints").
// Two checks need more than the engine's address and are skipped without it: --scripts-dir (the
// engine's directory, to drop a broken script in and take it out again) and --pid (for SIGHUP).

const fs = require('fs');
const path = require('path');
const expect = require('../lib/expect');

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
    check('SIGHUP reloads the scripts', async (t) => {
      const before = (await health(t)).scripts_version;
      process.kill(t.options.pid, 'SIGHUP');
      for (let i = 0; i < 50 && (await health(t)).scripts_version === before; i++) await sleep(100);
      expect.equal((await health(t)).scripts_version, before + 1, 'scripts_version after SIGHUP');
      await stillServing(t);
    }, { needs: 'pid' }),
  ],
};
