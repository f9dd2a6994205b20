'use strict';
// What a script's log() may write (docs/scripting.md, "Sandbox and limits": 20 lines a call, 100
// a second per tenant with a burst of 200), read from the engine's own log: these checks need
// --engine-log FILE, where the engine writes its standard output. Both engines write a script's
// line as "... tenant=T request_id=R script: TEXT". Uses logs.*.

const fs = require('fs');
const expect = require('../lib/expect');
const { tenant, RUN } = require('../lib/fixtures');

const check = (name, run) => ({ name, run, needs: 'engineLog' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WAIT_MS = 10000; // how long a line may take to reach the file (the Java engine logs asynchronously)

/** The log's lines written since `from` (a byte offset). */
function linesSince(file, from) {
  const size = fs.statSync(file).size;
  if (size <= from) return [];
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8').split('\n');
  } finally {
    fs.closeSync(fd);
  }
}

/** Polls the log until some line since `from` passes `found`; the lines since `from` then. */
async function waitFor(file, from, found, what) {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const lines = linesSince(file, from);
    if (lines.some(found)) return lines;
    if (Date.now() > until) return expect.fail(`${what}: not in the engine's log after ${WAIT_MS} ms`);
    await sleep(50);
  }
}

const logCall = (t, who, kind, mark, requestId, lines = 0) => t.decide('logs', {
  tenant: who,
  headers: { 'X-Case': kind, 'X-Mark': mark, 'X-Lines': String(lines) },
  request: { request_id: requestId },
});

module.exports = {
  group: 'logs',
  about: "log(): 20 lines a call and 100 a second per tenant (burst 200), read from the engine's log (--engine-log)",
  checks: [
    check('a call logging 50 lines writes 20, then one line saying the rest were dropped', async (t) => {
      const file = t.options.engineLog;
      const from = fs.statSync(file).size;
      const mark = `${RUN}-per-call`;
      const a = await logCall(t, tenant('logs-per-call'), 'many', mark, `${mark}-r`, 50);
      expect.equal(a.body, 'logged', 'the call');
      const lines = await waitFor(file, from, (l) => l.includes(`request_id=${mark}-r `) && /dropped/.test(l), 'the note about dropped lines');
      const written = lines.filter((l) => l.includes(`script: ${mark} line `)).length;
      expect.equal(written, 20, 'lines of the call written');
      expect.equal(lines.filter((l) => l.includes(`request_id=${mark}-r `) && /dropped/.test(l)).length, 1, 'notes about dropped lines');
    }),
    check('calls that log 20 lines and then fail with a limit: at most 200 lines plus 100 a second for the tenant', async (t) => {
      const file = t.options.engineLog;
      const from = fs.statSync(file).size;
      const mark = `${RUN}-rate`;
      const who = tenant('logs-rate');
      const started = Date.now();
      for (let i = 0; i < 40; i++) {
        const a = await logCall(t, who, 'then-fail', mark, `${mark}-r${i}`);
        expect.equal(a.decision, 'error', `call ${i + 1}`);
      }
      const seconds = (Date.now() - started) / 1000;
      // Another tenant's line, logged after all of them: once it is in the file, so are they.
      const end = `${RUN}-rate-end`;
      await logCall(t, tenant('logs-rate-end'), 'one', end, `${end}-r`);
      const lines = await waitFor(file, from, (l) => l.includes(`script: ${end} line 1`), "the last call's line");
      const written = lines.filter((l) => l.includes(`script: ${mark} line `)).length;
      const most = 200 + Math.ceil(100 * seconds);
      expect.truthy(written <= most, `${written} of 800 lines written in ${seconds.toFixed(2)} s: at most ${most} may be`);
      expect.truthy(written >= 100, `only ${written} of 800 lines were written: the tenant's burst is 200`);
    }),
  ],
};
