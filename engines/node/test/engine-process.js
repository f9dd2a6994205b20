'use strict';
// The engine as a process, for the tests that talk to it over its socket (engine.test.js,
// quickjs-build.test.js): start it on scripts, call it, read its answers.

const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const { spawn } = require('child_process');

const ENGINE = path.join(__dirname, '..', 'engine.js');

/** Starts the engine on `scripts` ({name: source}); {socket, log(), stop()}. */
async function start(scripts, args = [], env = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keystone-node-engine-'));
  fs.mkdirSync(path.join(dir, 's'));
  for (const [name, source] of Object.entries(scripts)) fs.writeFileSync(path.join(dir, 's', `${name}.js`), source);
  const socket = path.join(dir, 'engine.sock');
  let output = '';
  const child = spawn('node', [ENGINE, '--scripts', path.join(dir, 's'), '--listen', `unix:${socket}`, ...args],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((r) => child.on('exit', r));
  for (let i = 0; i < 300 && !output.includes('engine serving'); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(output.includes('engine serving'), `the engine started: ${output}`);
  return {
    socket,
    scripts: path.join(dir, 's'),
    pid: child.pid,
    log: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Keep-alive connections, as the gateway's pool: a new connection is accepted one per turn of the
// engine's event loop, requests on open ones are read together.
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function call(socket, method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = http.request({ agent, socketPath: socket, method, path: urlPath, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const decide = (socket, tenant, script, extra = {}) => call(socket, 'POST', '/v1/decide', {
  version: 1, tenant, script, ...extra,
  request: { method: 'GET', path: '/', headers: [] },
  backends: [{ name: 'app', url: 'http://127.0.0.1:9', healthy: true, weight: 1, labels: {} }],
});

const GOOD = "function on_request(req) { return route_to('app'); }";

/** A tenant's call that must have been answered with `body`, or (on a host too busy) lost to the engine's being busy: never the tenant's fault. */
function answeredOrBusy(a, body) {
  if (a.decision === 'error') {
    assert.match(a.error, /deadline of \d+ ms passed while the engine was busy$/, JSON.stringify(a).slice(0, 300));
    return;
  }
  assert.strictEqual(a.body, body, JSON.stringify(a).slice(0, 300));
}
const SPIN = 'function on_request(req) { for (;;) {} }';

module.exports = { start, call, decide, answeredOrBusy, GOOD, SPIN, agent };
