'use strict';
// Who gets the engine's one thread next. Scripts run one call at a time; calls that arrive while
// one runs wait here, one queue per tenant, and the next call is always the oldest of the tenant
// that used the least script time lately (budgets.js, TimeShare.recent). In arrival order, a light
// tenant's call waited behind every heavy tenant's queued call: with four tenants whose scripts
// ran to their deadline, a call that takes 3 ms took 210 ms (attack on the Node engine, round 2,
// N2-7); now it waits for at most the call that is running.
//
// Waiting is bounded: a tenant may have a quarter of the calls and of the bytes (its requests, up
// to 1 MiB each) that may wait, all tenants together MAX_WAITING calls and `bytes` (64 MiB, or an
// eighth of the engine's memory budget); past that a call fails at once, as a limit.
// A call whose deadline passed while it waited is not run: the gateway stopped waiting for it.

const { monotonic } = require('./budgets');

const MAX_WAITING = 1024;
const MAX_WAITING_BYTES = 64 * 1024 * 1024;

/** A call refused without running; `limit`: the tenant's own doing (its own calls flood the queue), not another's. */
class Refused extends Error {
  constructor(message, limit) {
    super(message);
    this.limit = limit;
  }
}

class Scheduler {
  /** `recentOf(tenant)`: the tenant's recent script time (ms); `now`: a monotonic clock (ms). */
  constructor(recentOf, now = monotonic, { total = MAX_WAITING, bytes = MAX_WAITING_BYTES } = {}) {
    this.recentOf = recentOf;
    this.now = now;
    this.limits = { total, bytes };
    this.queues = new Map(); // tenant -> [{job, resolve, reject, deadlineAt, queuedAt, bytes}], oldest first
    this.queuedBytes = new Map(); // tenant -> bytes waiting
    this.waiting = 0;
    this.waitingBytes = 0;
    this.busy = false;
    this.pending = false; // a choice is scheduled
    this.lastStart = -Infinity; // when the last call started (monotonic ms)
  }

  /**
   * Runs `job(waitedMs)` (which may return a promise) when it is the tenant's turn; resolves or
   * rejects as the job does. Rejects with a Refused (no job run) when too many calls wait or when
   * `deadlineAt` (monotonic ms) passed before its turn came.
   */
  run(tenant, deadlineAt, job, bytes = 0) {
    return new Promise((resolve, reject) => {
      const queuedAt = this.now();
      let q = this.queues.get(tenant);
      const own = q === undefined ? 0 : q.length;
      const ownBytes = this.queuedBytes.get(tenant) || 0;
      if (own >= this.limits.total / 4 || ownBytes + bytes > this.limits.bytes / 4) {
        reject(new Refused(`${own} calls (${ownBytes >> 10} KiB) of this tenant are waiting for the engine already`, true));
        return;
      }
      if (this.waiting >= this.limits.total || this.waitingBytes + bytes > this.limits.bytes) {
        reject(new Refused(`${this.waiting} calls (${this.waitingBytes >> 10} KiB) are waiting for the engine already`, false));
        return;
      }
      if (q === undefined) {
        q = [];
        this.queues.set(tenant, q);
      }
      q.push({ job, resolve, reject, deadlineAt, queuedAt, bytes });
      this.queuedBytes.set(tenant, ownBytes + bytes);
      this.waiting++;
      this.waitingBytes += bytes;
      this.soon();
    });
  }

  /**
   * Chooses the next call once the event loop has read what arrived: never at once, or calls
   * would start in the order their requests were read, each before the next is read (FIFO).
   */
  soon() {
    if (this.busy || this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.next();
    });
  }

  start(call) {
    this.busy = true;
    this.lastStart = this.now();
    const waited = this.now() - call.queuedAt;
    let result;
    try {
      result = call.now > call.deadlineAt
        ? Promise.reject(new Refused(`waited ${Math.round(waited)} ms for the engine, past the call's deadline`, false))
        : Promise.resolve(call.job(waited));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(call.resolve, call.reject).finally(() => {
      this.busy = false;
      // Let the event loop read what arrived meanwhile before choosing: a light tenant's call that
      // came in during this one competes for the next turn.
      if (this.waiting > 0) this.soon();
    });
  }

  /** Starts the oldest call of the tenant that used the least time lately. */
  next() {
    if (this.busy || this.waiting === 0) return;
    let best = null;
    let bestRecent = Infinity;
    for (const [tenant, q] of this.queues) {
      const r = this.recentOf(tenant);
      if (best === null || r < bestRecent || (r === bestRecent && q[0].queuedAt < this.queues.get(best)[0].queuedAt)) {
        best = tenant;
        bestRecent = r;
      }
    }
    const q = this.queues.get(best);
    const call = q.shift();
    const left = this.queuedBytes.get(best) - call.bytes;
    if (q.length === 0) {
      this.queues.delete(best);
      this.queuedBytes.delete(best);
    } else {
      this.queuedBytes.set(best, left);
    }
    this.waiting--;
    this.waitingBytes -= call.bytes;
    call.now = this.now();
    this.start(call);
  }
}

module.exports = { Scheduler, Refused, MAX_WAITING, MAX_WAITING_BYTES };
