'use strict';
// What the engine counts as each isolate's memory (lib/isolate.js `resident`, lib/trim.js), with
// the engine's scripts in process (no sockets: only what the measure sees).
//   node --test engines/node/test/

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Scripts } = require('../lib/scripts');
const protocol = require('../lib/protocol');

test("a client's big bodies do not count as memory the tenant's isolate holds (N7-1)", async () => {
  // Failed before (when an isolate's holding was the growth of the engine's memory during its
  // entries): passing a 300 KB body in allocated buffers outside V8's heap, counted as the
  // isolate's on every call (92 MiB on record after a flood), and under memory pressure the tenant
  // was dropped and penalised for bodies an anonymous client sent. Its own pages now: a few MiB.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keystone-memory-'));
  fs.writeFileSync(path.join(dir, 'reads.js'), "function on_request(req) { return respond(200, 'len=' + req.body.length); }");
  try {
    const scripts = await Scripts.open({ dir, deadlineMs: 5000, log: () => {} });
    const bodies = ['\x01'.repeat(300000), '\0'.repeat(300000), 'é'.repeat(150000)];
    for (let i = 0; i < 60; i++) {
      const request = protocol.decideRequest({ version: 1, tenant: 't', script: 'reads',
        request: { method: 'POST', path: '/', body: bodies[i % bodies.length] } }, true);
      const d = await scripts.decide(scripts.script('reads'), request, 5000);
      assert.match(d.body, /^len=/);
    }
    const i = scripts.isolates.get('t');
    const [held] = require('../lib/resident').residentIn([{ base: i.base, bytes: i.maxBytes }]);
    assert.ok(held < 16 << 20, `the isolate counts as holding ${held >> 20} MiB after 60 bodies of 300 KB`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
