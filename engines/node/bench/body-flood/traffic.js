'use strict';
// The backend, the flood and the neighbours' traffic of run.sh, in one process.
//   node traffic.js backend PORT
//   node traffic.js load GATEWAY_PORT SECONDS   (16 clients flooding /victim/ with 1 MB bodies in a
//   closed loop; /light/ at 20 and /keep10/ at 10 requests a second): prints each neighbour's % of 200
const http = require('http');
const [mode, port, secs] = process.argv.slice(2);
if (mode === 'backend') {
  http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('backend ok\n')); }).listen(Number(port), '127.0.0.1');
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const end = Date.now() + Number(secs) * 1000;
  const body = Buffer.from(JSON.stringify({ text: '\u6f22'.repeat(349000) })); // about 1 MB of CJK text
  const send = (path, data, done) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), path, method: data ? 'POST' : 'GET', agent,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0));
    req.end(data || undefined);
  };
  const flood = () => { if (Date.now() < end) send('/victim/x', body, flood); };
  for (let i = 0; i < 16; i++) flood();
  const counts = { light: [0, 0], keep10: [0, 0] };
  for (const [name, rps] of [['light', 20], ['keep10', 10]]) {
    const timer = setInterval(() => send(`/${name}/x`, null, (s) => { counts[name][0]++; if (s === 200) counts[name][1]++; }), 1000 / rps);
    setTimeout(() => clearInterval(timer), Number(secs) * 1000);
  }
  setTimeout(() => {
    for (const [name, [n, ok]] of Object.entries(counts)) console.log(`${name}: ${n} requests, ${(100 * ok / Math.max(1, n)).toFixed(1)} % 200`);
    process.exit(0);
  }, Number(secs) * 1000 + 5000);
}
