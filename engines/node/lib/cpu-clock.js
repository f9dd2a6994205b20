'use strict';
// The CPU time of the engine's thread, in milliseconds: what a script's call really took of it.
// Deadlines are wall-clock time, but on a busy host a call can be descheduled past its deadline
// while using almost none of it: only a call that also used its deadline's worth of CPU is late
// (isolate.js), and the time share charges CPU time (budgets.js). On Linux it is the calling
// thread's own (/proc/thread-self/schedstat, nanoseconds, about 10 µs a read); elsewhere the
// process's (process.cpuUsage), which also counts its other threads (V8's helpers, a reload's
// compiler): there a call is sooner late than it should be, never later.

const fs = require('fs');

function schedstatClock() {
  let fd;
  try {
    fd = fs.openSync('/proc/thread-self/schedstat', 'r'); // opened by the engine's thread: that thread's
  } catch (e) {
    return null;
  }
  const buf = Buffer.alloc(128);
  const read = () => {
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return Number(buf.toString('latin1', 0, n).split(' ')[0]) / 1e6;
  };
  return Number.isFinite(read()) ? read : null;
}

function processClock() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The CPU clock of the thread that first asks for it (the engine's main thread). */
let clock = null;
function cpuMs() {
  if (clock === null) clock = schedstatClock() || processClock;
  return clock();
}

module.exports = { cpuMs };
