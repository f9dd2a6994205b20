'use strict';
// Resident memory, as the kernel (and a cgroup) counts it: the engine's, from /proc/self/statm on a
// file kept open (one read, about 4 µs; process.memoryUsage.rss() opens /proc/self/stat each
// time), and each isolate's, from /proc/self/smaps: an isolate's WebAssembly memory is a mapping
// of its own (V8 reserves it with guard regions), whose resident pages are exactly what the
// isolate holds. Measured this way, nothing else the engine does while an isolate runs counts as
// the isolate's: estimated from the growth of the engine's memory during its calls, an anonymous
// client's 300 KB bodies made a tenant look as if it held 92 MiB, and V8's collector made tenants
// that kept nothing look as if they held 8-11 MiB (attack round 7, N7-1, N7-2). Linux only: where
// there is no /proc, Node's own figure, and isolates are not told apart (0).

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

/** The engine's resident memory in bytes. */
function residentBytes() {
  if (fd === null) return process.memoryUsage.rss();
  return statmPages() * pageBytes;
}

/** The start addresses of the process's readable and writable mappings (to find a new one). */
function writableMappings() {
  if (fd === null) return null;
  const starts = new Set();
  for (const line of fs.readFileSync('/proc/self/maps', 'latin1').split('\n')) {
    if (line.length > 0 && line.includes(' rw')) starts.add(line.slice(0, line.indexOf('-')));
  }
  return starts;
}

/**
 * Where the memory made by `make()` lives: the start address (a number) of the writable mapping
 * that appeared while it ran and is `bytes` long, or null (not found, not Linux). `make`'s result
 * is returned as {made, base}.
 */
function mappedBy(make, bytes) {
  const before = writableMappings();
  const made = make();
  if (before === null) return { made, base: null };
  for (const line of fs.readFileSync('/proc/self/maps', 'latin1').split('\n')) {
    const dash = line.indexOf('-');
    if (dash < 0 || !line.includes(' rw') || before.has(line.slice(0, dash))) continue;
    const start = parseInt(line.slice(0, dash), 16);
    const end = parseInt(line.slice(dash + 1, line.indexOf(' ')), 16);
    if (end - start === bytes) return { made, base: start };
  }
  return { made, base: null };
}

/**
 * What each of `ranges` ({base, bytes}) holds resident, read from /proc/self/smaps in one pass:
 * an array of bytes, in their order (0 for a range with no base, or without /proc).
 */
function residentIn(ranges) {
  const out = ranges.map(() => 0);
  if (fd === null) return out;
  const sorted = ranges.map((r, i) => ({ ...r, i })).filter((r) => r.base !== null).sort((a, b) => a.base - b.base);
  if (sorted.length === 0) return out;
  let text;
  try {
    text = fs.readFileSync('/proc/self/smaps', 'latin1');
  } catch {
    return out;
  }
  let current = null; // the range the mapping being read lies in
  for (const line of text.split('\n')) {
    const c = line.charCodeAt(0);
    const hex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
    if (hex && line.indexOf('-') > 0 && line.indexOf('-') < 17) {
      const start = parseInt(line.slice(0, line.indexOf('-')), 16);
      current = null;
      let lo = 0;
      let hi = sorted.length - 1;
      while (lo <= hi) { // the last range starting at or before `start`
        const mid = (lo + hi) >> 1;
        if (sorted[mid].base <= start) lo = mid + 1;
        else hi = mid - 1;
      }
      if (hi >= 0 && start < sorted[hi].base + sorted[hi].bytes) current = sorted[hi];
    } else if (current !== null && line.startsWith('Rss:')) {
      out[current.i] += parseInt(line.slice(4), 10) * 1024;
    }
  }
  return out;
}

module.exports = { residentBytes, mappedBy, residentIn };
