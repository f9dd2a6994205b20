'use strict';
// What a script's log() may write (docs/scripting.md, "Sandbox and limits": 20 lines a call, 100
// a second per tenant with a burst of 200), read from the engine's own log: these checks need
// --engine-log FILE, where the engine writes its standard output. A script's line is
// "... tenant=T request_id=R log="TEXT"", TEXT with control characters, " and \ escaped
// (docs/scripting.md). Uses logs.*.

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
      const written = lines.filter((l) => l.includes(`log="${mark} line `)).length;
      expect.equal(written, 20, 'lines of the call written');
      expect.equal(lines.filter((l) => l.includes(`request_id=${mark}-r `) && /dropped/.test(l)).length, 1, 'notes about dropped lines');
    }),
    check('a line with a quote, a backslash and a line break is one line, the text quoted and escaped', async (t) => {
      const file = t.options.engineLog;
      const from = fs.statSync(file).size;
      const mark = `${RUN}-quoted`;
      const a = await logCall(t, tenant('logs-quoted'), 'quoted', mark, `${mark}-r`);
      expect.equal(a.body, 'logged', 'the call');
      const lines = await waitFor(file, from, (l) => l.includes(`request_id=${mark}-r `), 'the line');
      const line = lines.find((l) => l.includes(`request_id=${mark}-r `));
      const want = `request_id=${mark}-r log="${mark} said \\"hi\\" c:\\\\x\\nSEVERE forged request_id=x"`;
      expect.truthy(line.includes(want), `the line ${JSON.stringify(line)} has ${JSON.stringify(want)}`);
      expect.truthy(!lines.some((l) => l.startsWith('SEVERE forged')), 'no line of its own for the text after the line break');
    }),
    check('calls that log 20 lines and then fail with a limit: at most 200 lines plus 100 a second for the tenant', async (t) => {
      const file = t.options.engineLog;
      const from = fs.statSync(file).size;
      const mark = `${RUN}-rate`;
      const who = tenant('logs-rate');
      const started = Date.now();
      // 40 calls that ran the script (their error names its line 11). A call the engine refused
      // without running it (the tenant's time share, spent by the checks before this one as well:
      // the process's share is all tenants') is tried again a little later.
      let ran = 0;
      for (let i = 0; ran < 40; i++) {
        if (i >= 400) expect.fail(`only ${ran} of 400 calls ran the script`);
        const a = await logCall(t, who, 'then-fail', mark, `${mark}-r${i}`);
        expect.equal(a.decision, 'error', `call ${i + 1}`);
        if (/logs\.[a-z]+:11\b/.test(a.error)) ran++;
        else if (a.limit === true) await sleep(100);
        else expect.fail(`call ${i + 1}: not the script's limit error at line 11, nor a refusal: ${a.error}`);
      }
      const seconds = (Date.now() - started) / 1000;
      // Another tenant's line, logged after all of them: once it is in the file, so are they.
      const end = `${RUN}-rate-end`;
      await logCall(t, tenant('logs-rate-end'), 'one', end, `${end}-r`);
      const lines = await waitFor(file, from, (l) => l.includes(`log="${end} line 1"`), "the last call's line");
      const written = lines.filter((l) => l.includes(`log="${mark} line `)).length;
      const most = 200 + Math.ceil(100 * seconds);
      expect.truthy(written <= most, `${written} of 800 lines written in ${seconds.toFixed(2)} s: at most ${most} may be`);
      expect.truthy(written >= 100, `only ${written} of 800 lines were written: the tenant's burst is 200`);
    }),
  ],
};
