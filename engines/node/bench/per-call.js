#!/usr/bin/env node
'use strict';
// Per-call cost of a simple routing script: sequential POST /v1/decide requests (one at a time,
// keep-alive) with the conformance client, after a warm-up. Prints the mean, p50 and p99 in µs.
//
//   node engines/node/bench/per-call.js --engine http://127.0.0.1:8082 [--requests 5000] [--script decide]

const { Client } = require('../../conformance/lib/client');
const { decideBody } = require('../../conformance/lib/fixtures');

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
  const client = new Client(opt('--engine', 'http://127.0.0.1:8082'), 5000);
  const n = Number(opt('--requests', '5000'));
  const body = JSON.stringify(decideBody(opt('--script', 'decide'), {
    tenant: 'bench', headers: { 'X-Case': 'name', 'X-Target': 'canary-42' },
  }));
  const once = async () => {
    const r = await client.request('POST', '/v1/decide', { body, headers: { 'Content-Type': 'application/json' } });
    if (r.status !== 200 || r.json.decision !== 'route') throw new Error(`unexpected answer: ${r.status} ${r.text}`);
  };
  for (let i = 0; i < 500; i++) await once(); // warm-up: JIT, the tenant's state
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await once();
    times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / n;
  const at = (q) => times[Math.min(n - 1, Math.floor(q * n))];
  console.log(`${n} sequential decide calls: mean ${mean.toFixed(0)} µs, p50 ${at(0.5).toFixed(0)} µs, p99 ${at(0.99).toFixed(0)} µs (round trip, client included)`);
  client.close();
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
