'use strict';
// Who gets the engine's one thread next. Scripts run one call at a time; calls that arrive while
// one runs wait here, one queue per tenant, and the next call is always the oldest of the tenant
// that used the least script time lately (budgets.js, TimeShare.recent). In arrival order, a light
// tenant's call waited behind every heavy tenant's queued call: with four tenants whose scripts
// ran to their deadline, a call that takes 3 ms took 210 ms (attack on the Node engine, round 2,
// N2-7); now it waits for at most the call that is running.
//
// Waiting is bounded: a tenant may have an eighth of the calls and of the bytes (its requests)
// that may wait, all tenants together MAX_WAITING calls and `bytes` (64 MiB, or an eighth of the
// engine's memory budget), the last quarter of both only for tenants with fewer than
// RESERVED_CALLS waiting; past that a call fails at once.
// A call whose deadline passed while it waited is not run: the gateway stopped waiting for it.

const { monotonic } = require('./budgets');

const MAX_WAITING = 1024;
const RESERVED_CALLS = 4; // a tenant with fewer waiting may use the reserved last quarter
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
      const { total, bytes: maxBytes } = this.limits;
      if (own >= total / 8 || ownBytes + bytes > maxBytes / 8) {
        reject(new Refused(`${own} calls (${ownBytes >> 10} KiB) of this tenant are waiting for the engine already`, true));
        return;
      }
      // The last quarter is kept for tenants with few calls waiting: heavy tenants together
      // cannot fill the queue for everyone (round 3, N3-7: four tenants filled all of it).
      const small = own < RESERVED_CALLS && ownBytes + bytes <= maxBytes / 32;
      const share = small ? 1 : 0.75;
      if (this.waiting >= total * share || this.waitingBytes + bytes > maxBytes * share) {
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

  /**
   * Refuses the waiting calls whose deadline passed (the gateway gave up on them): at once, not
   * when their turn comes (round 3: answered up to 3.9 s late). A tenant's calls wait in order of
   * arrival, with the same deadline as a rule, so the expired ones are at the front.
   */
  dropExpired() {
    const now = this.now();
    for (const [tenant, q] of this.queues) {
      while (q.length > 0 && now > q[0].deadlineAt) {
        const call = q.shift();
        this.waiting--;
        this.waitingBytes -= call.bytes;
        this.queuedBytes.set(tenant, this.queuedBytes.get(tenant) - call.bytes);
        call.reject(new Refused(`waited ${Math.round(now - call.queuedAt)} ms for the engine, past the call's deadline`, false));
      }
      if (q.length === 0) {
        this.queues.delete(tenant);
        this.queuedBytes.delete(tenant);
      }
    }
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
    this.dropExpired();
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
