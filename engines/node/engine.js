#!/usr/bin/env node
'use strict';
// The Keystone script engine on Node.js: serves every *.js script of a directory over the
// protocol of docs/engine-protocol.md, like `keystone engine` does for *.lua. Scripts run in
// QuickJS (WebAssembly), one isolate per tenant: `npm ci` in this directory installs it.
//
//   node engines/node/engine.js --scripts DIR --listen 127.0.0.1:8081|unix:/path/engine.sock
//
// SIGHUP reloads the scripts; SIGTERM (or SIGINT) stops accepting, finishes what is running
// and exits. See README.md for the script API and the trust model.

const fs = require('fs');
const net = require('net');
const { Scripts, LoadError } = require('./lib/scripts');
const { createServer } = require('./lib/server');
const { budgetMb, plan } = require('./lib/memory-plan');

const USAGE = `usage: node engine.js [--scripts DIR] [--listen ADDR] [--deadline-ms N] [--memory-mb N] [--memory-budget-mb N] [--time-share-ms N]
  --scripts        directory of *.js scripts (default: scripts)
  --listen         host:port (default 127.0.0.1:8081) or unix:/path/to/engine.sock
  --deadline-ms    wall-clock limit of one call into a script (default 50)
  --memory-mb      memory of each tenant's QuickJS isolate, its 5 MiB C stack included (default 32)
  --memory-budget-mb  the memory the whole engine has (default: KEYSTONE_ENGINE_MEMORY in bytes,
                   set by a supervising gateway; else none): isolates, kv and the compiler are sized to fit
  --time-share-ms  script time per second per tenant (default 500, as time_per_second): then its calls fail at once
`;

// One line per entry, whatever it quotes: a control character (a newline in a script's file
// name, round 3, N3-10) is written escaped, so nothing can forge a line of its own.
function log(line) {
  const text = String(line).replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r'
    : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  process.stdout.write(`${new Date().toISOString()} ${text}\n`);
}

function parseArgs(argv) {
  const opts = { scripts: 'scripts', listen: '127.0.0.1:8081', deadlineMs: 50, memoryMb: 32, timeShareMs: 500 };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i]} needs a value`);
    switch (argv[i]) {
      case '--scripts': opts.scripts = value; break;
      case '--listen': opts.listen = value; break;
      case '--deadline-ms': opts.deadlineMs = Number(value); break;
      case '--memory-mb': opts.memoryMb = Number(value); break;
      case '--memory-budget-mb': opts.memoryBudgetMb = Number(value); break;
      case '--time-share-ms': opts.timeShareMs = Number(value); break;
      default: throw new Error(`unknown argument '${argv[i]}'`);
    }
  }
  if (!Number.isInteger(opts.deadlineMs) || opts.deadlineMs < 1) throw new Error('--deadline-ms: a whole number of milliseconds, at least 1');
  if (!Number.isInteger(opts.memoryMb) || opts.memoryMb < 24 || opts.memoryMb > 2048) throw new Error('--memory-mb: a whole number of MiB, 24 to 2048');
  if (!Number.isInteger(opts.timeShareMs) || opts.timeShareMs < 10 || opts.timeShareMs > 1000000) throw new Error('--time-share-ms: a whole number of milliseconds, 10 to 1000000');
  opts.memoryBudgetMb = budgetMb(opts.memoryBudgetMb);
  plan(opts.memoryBudgetMb, opts.memoryMb); // checks the budget
  opts.address = address(opts.listen);
  return opts;
}

/** {path} for unix:/path, {host, port} for host:port or [v6]:port. */
function address(listen) {
  if (listen.startsWith('unix:')) return { path: listen.slice(5) };
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new Error(`--listen: host:port or unix:/path, got '${listen}'`);
  return { host: m[1], port: Number(m[2]) };
}

/** Listens; a unix socket left behind by an engine that died is removed, a live one is not. */
function listen(server, addr) {
  return new Promise((resolve, reject) => {
    const onError = (e) => {
      if (e.code !== 'EADDRINUSE' || !addr.path) return reject(e);
      const probe = net.connect(addr.path);
      probe.on('connect', () => { probe.destroy(); reject(e); });
      probe.on('error', () => {
        fs.rmSync(addr.path, { force: true });
        server.once('error', reject);
        server.listen(addr.path, resolve);
      });
    };
    server.once('error', onError);
    server.listen(addr.path ? { path: addr.path } : { host: addr.host, port: addr.port }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

function bound(server, addr) {
  return addr.path ? `unix:${addr.path}` : `${addr.host}:${server.address().port}`;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`engine: ${e.message}\n${USAGE}`);
    return 2;
  }
  let scripts;
  try {
    scripts = await Scripts.open({ dir: opts.scripts, deadlineMs: opts.deadlineMs, memoryMb: opts.memoryMb,
      memoryBudgetMb: opts.memoryBudgetMb, timeShareMs: opts.timeShareMs,
      log: (l) => log(`INFO script ${l}`) });
  } catch (e) {
    log(`SEVERE engine did not start: ${e instanceof LoadError ? e.errors.join('; ') : e.stack}`);
    return 1;
  }
  for (const error of scripts.library.failing) log(`WARNING engine serves a script that did not compile as failing: ${error}`);
  const server = createServer(scripts, log);
  await listen(server, opts.address);
  const m = scripts.memory;
  log(`INFO engine serving ${scripts.library.scripts.size} script(s) from ${opts.scripts} on ${bound(server, opts.address)}; `
    + (opts.memoryBudgetMb === null ? 'no memory budget' : `memory budget ${opts.memoryBudgetMb} MiB`)
    + ` (isolates up to ${m.isolateBytes >> 20} MiB, kv ${m.kvTenantBytes >> 20} MiB a tenant, ${m.kvTotalBytes >> 20} MiB in all)`);

  process.on('SIGHUP', () => {
    scripts.reload().then((lib) => {
      log(`INFO engine scripts version ${lib.version}: ${lib.scripts.size} script(s)`);
    }, (e) => {
      log(`WARNING engine reload rejected: ${e instanceof LoadError ? e.errors.join('; ') : e.message}`);
    });
  });
  const stop = (signal) => {
    log(`INFO engine stopping (${signal})`);
    server.close(() => process.exit(0)); // no new connections; exits once open ones are done
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref(); // a client that holds a connection open
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  watchParent(process.env.KEYSTONE_ENGINE_PARENT);
  return null;
}

/**
 * A gateway that supervises this engine without a sandbox names itself in KEYSTONE_ENGINE_PARENT:
 * once that process is gone (killed with -9 too), the engine goes, instead of staying behind
 * orphaned with its tenants' memory (found after attack round 8). Checked every second.
 */
function watchParent(value) {
  const pid = Number(value);
  if (value === undefined || !Number.isSafeInteger(pid) || pid <= 1) return;
  setInterval(() => {
    try {
      process.kill(pid, 0); // no signal: only whether it exists (EPERM: it does, as another user)
    } catch (e) {
      if (e.code !== 'ESRCH') return;
      log(`INFO engine stopping: its gateway (pid ${pid}) is gone`);
      process.exit(0);
    }
  }, 1000).unref();
}

main().then((code) => {
  if (code !== null) process.exit(code);
}, (e) => {
  log(`SEVERE engine did not start: ${e.message}`);
  process.exit(1);
});
