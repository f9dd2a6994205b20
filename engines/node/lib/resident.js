'use strict';
// The engine's resident memory, as the kernel (and a cgroup) counts it: read from /proc/self/statm
// on a file kept open (one read, about 4 µs; process.memoryUsage.rss() opens /proc/self/stat each
// time, about 9 µs), because every entry into an isolate reads it twice (isolate.js: what each
// isolate holds is the growth of the resident memory during its entries). Elsewhere: Node's own.

const fs = require('fs');

let fd = null;
let pageBytes = 4096;
const buf = Buffer.alloc(128);

function statmPages() {
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  let i = 0;
  while (i < n && buf[i] !== 32) i++; // the first field is the size; the second, resident pages
  i++;
  let v = 0;
  for (; i < n && buf[i] >= 48 && buf[i] <= 57; i++) v = v * 10 + buf[i] - 48;
  return v;
}

try {
  fd = fs.openSync('/proc/self/statm', 'r');
  const pages = statmPages();
  // The page size, from Node's own figure (both count the same pages): a power of two.
  if (pages > 0) pageBytes = 2 ** Math.round(Math.log2(process.memoryUsage.rss() / pages));
} catch {
  fd = null;
}

/** Resident memory in bytes. */
function residentBytes() {
  if (fd === null) return process.memoryUsage.rss();
  return statmPages() * pageBytes;
}

module.exports = { residentBytes };
