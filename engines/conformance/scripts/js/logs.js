// Conformance: what log() may write (checks/logs.js reads the engine's log). X-Case: "many" logs
// X-Lines lines; "then-fail" logs 20 then fails with a limit; anything else logs one line.
function on_request(req) {
  const kind = req.headers['X-Case'];
  const mark = req.headers['X-Mark'];
  if (kind === 'many') {
    const n = Number(req.headers['X-Lines']);
    for (let i = 1; i <= n; i++) log(`${mark} line ${i}`);
  } else if (kind === 'then-fail') {
    for (let i = 1; i <= 20; i++) log(`${mark} line ${i}`);
    return respond(200, 'x'.repeat(2 ** 21)); // above the 1 MiB of a body: a limit that leaves the isolate whole
  } else if (kind === 'quoted') {
    log(`${mark} said "hi" c:\\x\nSEVERE forged request_id=x`);
  } else {
    log(`${mark} line 1`);
  }
  return respond(200, 'logged');
}
