#!/usr/bin/env node
'use strict';
// The engine conformance suite: checks a running script engine against docs/engine-protocol.md
// and docs/scripting.md, whatever its language. Start the engine on scripts/<lang>/ first.
//
//   node engines/conformance/run.js --engine http://127.0.0.1:8081 [--skip legacy,...]
//   node engines/conformance/run.js --engine unix:/tmp/engine.sock --scripts-dir DIR --pid PID --engine-log FILE
//   node engines/conformance/run.js --list
//
// Prints TAP (one "ok N - name" or "not ok N - name: why" per check) and exits 0 only when every
// check passed. Built-in modules only.

const { Client } = require('./lib/client');
const { EngineUnderTest } = require('./lib/engine');
const { CheckFailure } = require('./lib/expect');

// In the order they run: admin's reload checks drop script state, so they come late.
const GROUPS = ['decisions', 'edits', 'request', 'body', 'params', 'helpers', 'kv', 'errors', 'misuse', 'respond', 'protocol', 'legacy', 'concurrency', 'hostile', 'logs', 'admin']
  .map((g) => require(`./checks/${g}`));

const USAGE = `usage: node run.js --engine http://HOST:PORT|unix:/PATH [options]
  --engine URL        the engine under test (serving scripts/<lang>/ of this suite)
  --skip G1,G2        skip these groups (e.g. --skip legacy)
  --only G1,G2        run only these groups
  --scripts-dir DIR   the engine's scripts directory, writable: enables the reload-error check
  --pid PID           the engine's process id: enables the SIGHUP check
  --engine-log FILE   the file the engine's standard output goes to: enables the log checks
  --timeout MS        per request (default 5000)
  --strict            count failing TODO checks (known reference-engine bugs) as failures
  --list              print the checks and exit
groups: ${GROUPS.map((g) => g.group).join(', ')}
`;

function parseArgs(argv) {
  const o = { skip: [], only: [], timeout: 5000, strict: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--engine': o.engine = next(); break;
      case '--skip': o.skip.push(...next().split(',')); break;
      case '--only': o.only.push(...next().split(',')); break;
      case '--scripts-dir': o.scriptsDir = next(); break;
      case '--pid': o.pid = Number(next()); break;
      case '--engine-log': o.engineLog = next(); break;
      case '--timeout': o.timeout = Number(next()); break;
      case '--strict': o.strict = true; break;
      case '--list': o.list = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown argument '${argv[i]}'`);
    }
  }
  const known = GROUPS.map((g) => g.group);
  for (const g of [...o.skip, ...o.only]) if (!known.includes(g)) throw new Error(`no group '${g}'`);
  if (!o.list && !o.help && !o.engine) throw new Error('--engine is required');
  return o;
}

/** Every check in run order, with why it is skipped (if it is). */
function plan(o) {
  const out = [];
  for (const g of GROUPS) {
    for (const c of g.checks) {
      let skip = null;
      if (o.skip.includes(g.group) || (o.only.length > 0 && !o.only.includes(g.group))) skip = `group ${g.group} not selected`;
      else if (c.needs === 'scriptsDir' && !o.scriptsDir) skip = 'needs --scripts-dir';
      else if (c.needs === 'pid' && !o.pid) skip = 'needs --pid';
      else if (c.needs === 'engineLog' && !o.engineLog) skip = 'needs --engine-log';
      out.push({ group: g.group, ...c, title: `${g.group}: ${c.name}`, skip });
    }
  }
  return out;
}

function list() {
  for (const g of GROUPS) {
    console.log(`${g.group} - ${g.about}`);
    for (const c of g.checks) {
      const flag = { pid: 'pid', scriptsDir: 'scripts-dir', engineLog: 'engine-log' }[c.needs];
      const notes = [c.needs ? `needs --${flag}` : '', c.todo ? `TODO: ${c.todo}` : ''].filter(Boolean);
      console.log(`  ${c.name}${notes.length ? `  [${notes.join('; ')}]` : ''}`);
    }
  }
}

/** Runs one check; the TAP line and whether it counts as a failure. */
async function runOne(n, c, engine, o) {
  if (c.skip) return { line: `ok ${n} - ${c.title} # SKIP ${c.skip}`, failed: false, skipped: true };
  let why = null;
  try {
    await c.run(engine);
  } catch (e) {
    why = e instanceof CheckFailure ? e.message : `${e.message} (${e.constructor.name})`;
  }
  const todo = c.todo ? ` # TODO ${c.todo}` : '';
  if (why === null) return { line: `ok ${n} - ${c.title}${todo}`, failed: false };
  return { line: `not ok ${n} - ${c.title}: ${why.replace(/\s*\n\s*/g, ' ')}${todo}`, failed: !c.todo || o.strict, todo: !!c.todo };
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`run.js: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o.list) {
    list();
    return 0;
  }
  const checks = plan(o);
  const client = new Client(o.engine, o.timeout);
  const engine = new EngineUnderTest(client, o);
  console.log('TAP version 13');
  console.log(`1..${checks.length}`);
  console.log(`# engine under test: ${o.engine}`);
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0 };
  for (const [i, c] of checks.entries()) {
    const r = await runOne(i + 1, c, engine, o);
    console.log(r.line);
    if (r.skipped) counts.skipped++;
    else if (r.failed) counts.failed++;
    else if (r.todo) counts.todo++;
    else counts.passed++;
  }
  client.close();
  const todo = `${counts.todo} failing TODO (known bugs, not counted)`;
  console.log(`# ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped, ${todo}`);
  return counts.failed === 0 ? 0 : 1;
}

// A check that leaves a request behind must not take the whole run down with it.
process.on('unhandledRejection', (e) => console.log(`# warning: a request failed after its check ended: ${e && e.message}`));

main().then((code) => process.exit(code), (e) => {
  console.error(e.stack);
  process.exit(2);
});
