'use strict';
// What each tenant may use of the engine over time, kept per tenant in the engine (scripts.js),
// not in its isolate: an isolate is rebuilt whenever it breaks and dropped when others need room,
// and neither may hand a tenant a fresh budget. Mirrors script/TimeShare.java and LogBudget.java.
// Clocks are milliseconds of a monotonic clock (performance.now: the wall clock may jump),
// injectable for tests.

const { performance } = require('perf_hooks');

const monotonic = () => performance.now();

/** Tokens refilled at `perSecond` a second, at most `burst`; starts full. */
class TokenBucket {
  constructor(perSecond, burst, now = monotonic) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.at = now();
  }

  refill() {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, t - this.at) * this.perSecond / 1000);
    this.at = t;
    return this.tokens;
  }
}

/**
 * A tenant's share of script time: `perSecondMs` milliseconds a second, with one second's worth
 * as burst (as TimeShare.java). Each call has its deadline, but a tenant sending request after
 * request could still keep the engine's only thread busy with calls that each end in time; once
 * its share is spent, its calls fail at once until the share refills.
 *
 * Tenants' shares add up to more than the thread has, so each also draws on the process's share
 * (`parent`, PROCESS_SHARE_MS: half of the one thread). When that is spent, a tenant goes on only
 * while what it used lately plus its last call stays under its fair part, `fairMs()`: the process
 * share divided among the tenants active lately (TenantBudgets). So light tenants go on, however
 * many heavy ones there are, and together the tenants at their fair part use about the process
 * share. How much a tenant used lately is a decaying sum (time constant one second), not its
 * bucket: a tenant spending just under what its bucket refills keeps the bucket full (attack on
 * the Node engine, round 2, N2-7). Its last call counts too, because calls come in lumps: a loop
 * inside a built-in runs until the watchdog (250 ms). The process's debt is capped at one second's
 * worth (`maxDebtMs`): such calls put it seconds in debt, and a debt rule kept every tenant out,
 * the light ones 94-99 % of the time (round 3, N3-1).
 */
class TimeShare {
  constructor(perSecondMs, now = monotonic, parent = null, fairMs = () => perSecondMs / 4, maxDebtMs = Infinity) {
    this.perSecondMs = perSecondMs;
    this.maxDebtMs = maxDebtMs;
    this.parent = parent;
    this.fairMs = fairMs;
    this.now = now;
    this.bucket = new TokenBucket(perSecondMs, perSecondMs, now);
    this.recentMs = 0; // time spent lately, each millisecond counting e^-t (t in seconds) after it
    this.recentAt = now();
    this.lastMs = 0; // the last call
    this.spentMs = 0; // all calls together
  }

  /** Whether the tenant has time left for a call now. */
  available() {
    if (this.bucket.refill() <= 0) return false;
    if (this.parent === null || this.parent.available()) return true;
    return this.recent() + this.lastMs < this.fairMs();
  }

  /** Script time used lately (ms, decaying with a time constant of one second): the scheduler serves the least first. */
  recent() {
    const t = this.now();
    this.recentMs *= Math.exp(-Math.max(0, t - this.recentAt) / 1000);
    this.recentAt = t;
    return this.recentMs;
  }

  /** An entry into the tenant's isolate took `ms` (the last entry stands for the last call). */
  spend(ms) {
    this.bucket.refill();
    this.bucket.tokens = Math.max(this.bucket.tokens - ms, -this.maxDebtMs);
    this.recentMs = this.recent() + ms;
    this.lastMs = ms;
    this.spentMs += ms;
    if (this.parent !== null) this.parent.spend(ms);
  }

  full() {
    return this.bucket.refill() >= this.bucket.burst && this.recent() < 0.001;
  }
}

/**
 * A tenant's log lines: 100 a second, with a burst of 200 (as LogBudget.java). acquire() is null
 * when the line is to be dropped, else a note to append to it (how many were dropped before).
 */
class LogBudget {
  constructor(perSecond = 100, burst = 200, now = monotonic) {
    this.bucket = new TokenBucket(perSecond, burst, now);
    this.dropped = 0;
  }

  acquire() {
    if (this.bucket.refill() < 1) {
      this.dropped++;
      return null;
    }
    this.bucket.tokens -= 1;
    if (this.dropped === 0) return '';
    const note = ` (${this.dropped} earlier line(s) of this tenant dropped: at most ${this.bucket.perSecond} a second)`;
    this.dropped = 0;
    return note;
  }

  full() {
    return this.dropped === 0 && this.bucket.refill() >= this.bucket.burst;
  }
}

/**
 * Calls of a tenant refused for a while, longer while it keeps doing what earns it: 1 s (or twenty
 * times what its call held the thread), then twice that, and so on up to 60 s; a minute without a
 * strike clears the count (not one clean call: a tenant
 * alternating a clean call and a loop inside a built-in stayed at "1 in a row", attack round 5).
 * `what` says what earned it, for the refusal's text.
 *
 * Two kinds per tenant (TenantBudgets.of): `watchdog`, a call that held the engine's only thread
 * far past its deadline: the watchdog had to stop a loop inside a built-in (the whole 250 ms
 * window; the isolate is rebuilt), the call ran out of memory (the isolate is rebuilt, 100-470 ms
 * a call; attack round 3, N3-3, N3-8: three such tenants held the thread until the supervisor
 * killed the engine), or it ran more than twice its deadline in built-ins (isolate.js overran,
 * round 5, N5-1); and `memory`, an isolate that had grown big dropped while the
 * engine's memory was short (scripts.js trim: tenants rebuilding 14 MiB on every call, round 5,
 * N5-1).
 */
const HELD_FACTOR = 20;

class WatchdogStrikes {
  constructor(what = "this tenant's last call held the engine's thread far past its deadline", which = '') {
    this.what = what;
    this.which = which; // which of its calls are refused ('': all)
    this.strikes = 0;
    this.until = 0;
    this.why = null;
    this.last = -Infinity; // when the last strike came
  }

  /** null when the tenant may call at `now`, else why not. */
  refusal(now) {
    if (now >= this.until) return null;
    return `${this.what} (${this.why}; ${this.strikes} in a row): `
      + `its calls${this.which} fail for ${Math.ceil((this.until - now) / 1000)} s more`;
  }

  /**
   * Something that may earn a strike happened at `now`; `broken`: why it earns one, or null (it
   * did not); `heldMs`: how long the call held the engine's thread. The first refusal is twenty
   * times that, at least a second (a tenant may hold the thread a twenty-first of the time at
   * most: with 1 s for everything, a call held 250 ms by the watchdog could come every 1.25 s, and
   * twenty-eight such tenants held the whole thread for their first seconds, round 6); doubling
   * while it goes on, up to a minute.
   */
  ended(broken, now, heldMs = 0) {
    if (this.strikes > 0 && now - this.last >= 60000) this.strikes = 0;
    if (broken === null || broken === undefined) return;
    this.last = now;
    this.strikes++;
    this.why = broken;
    const first = Math.max(1000, HELD_FACTOR * heldMs);
    this.until = now + Math.min(60000, first * 2 ** Math.min(6, this.strikes - 1));
  }

  full() {
    return this.strikes === 0;
  }
}

// Past this many tenants, budgets that are full again are forgotten (a new one is the same).
const MAX_TENANTS = 10000;
// The script time of all tenants together: half of the engine's one thread (as the Java engine's
// half of its event loops), so that tenants within their own shares cannot fill it.
const PROCESS_SHARE_MS = 500;

/**
 * The max-min fair level of `share` over tenants that used `recents` lately: what a tenant may
 * use when each tenant using less keeps what it uses and those using more get the same, the
 * level, together the share. When all of them fit under the share, no one is over a level:
 * then an equal part (what the rule was before; the largest use plus what is left let tenants
 * together run past the share). Sorts `recents`.
 */
function waterLevel(share, recents) {
  recents.sort((a, b) => a - b);
  let left = share;
  for (let i = 0; i < recents.length; i++) {
    const equal = left / (recents.length - i);
    if (recents[i] > equal) return equal;
    left -= recents[i];
  }
  return share / Math.max(1, recents.length);
}

/** Each tenant's {time: TimeShare, log: LogBudget}, made on first use; the time drawing on one process share. */
class TenantBudgets {
  constructor(timePerSecondMs, now = monotonic, processShareMs = PROCESS_SHARE_MS) {
    this.timePerSecondMs = timePerSecondMs;
    this.now = now;
    this.process = new TimeShare(processShareMs, now, null, undefined, processShareMs);
    this.tenants = new Map();
    this.fair = { ms: 0, at: -Infinity, spent: 0 };
    this.fairMs = () => this.fairShare();
  }

  of(tenant) {
    let b = this.tenants.get(tenant);
    if (b === undefined) {
      if (this.tenants.size >= MAX_TENANTS) this.forgetFull();
      b = { time: new TimeShare(this.timePerSecondMs, this.now, this.process, this.fairMs), log: new LogBudget(100, 200, this.now),
        watchdog: new WatchdogStrikes(), memory: new WatchdogStrikes("this tenant's isolate was dropped"),
        // The same for calls carrying a client's body (BODY_STRIKES_FROM): a client's crafted body
        // can make an ordinary script's built-in run long in C (QuickJS's unseeded hashes, its
        // searches, normalize: attack round 11); those calls of the tenant's wait, not the others.
        bodies: new WatchdogStrikes("this tenant's last call with a client's body of more than 4 KiB held the engine's thread far past its deadline",
          ' with such bodies') };
      this.tenants.set(tenant, b);
    }
    return b;
  }

  /**
   * What a tenant may have used lately (plus its last call) and still call while the process
   * share is spent: the max-min fair level of the process share over the tenants that used any
   * time lately (waterLevel), or their average recent use, whichever is more. An equal part alone
   * refused an ordinary tenant next to many hostile ones (more tenants, smaller parts), and let
   * tenants that ran one short call lately shrink everyone's part (the conformance log check: 3 of
   * 40 calls ran after twenty such tenants); the average alone let tenants with calls in big lumps
   * take turns past the share. Asked only while the process share is spent; counted again (up to
   * MAX_TENANTS budgets) after 100 ms or 5 ms of script time, whichever comes first: a level kept
   * for 100 ms let two tenants each run a 250 ms call on it, one after the other.
   */
  fairShare() {
    const t = this.now();
    if (t - this.fair.at >= 100 || this.process.spentMs - this.fair.spent >= 5) {
      const recents = [];
      for (const b of this.tenants.values()) {
        const r = b.time.recent();
        if (r >= 1) recents.push(r);
      }
      const average = recents.length === 0 ? 0 : recents.reduce((a, r) => a + r, 0) / recents.length;
      this.fair = { ms: Math.max(waterLevel(this.process.perSecondMs, recents), average), at: t, spent: this.process.spentMs };
    }
    return this.fair.ms;
  }

  forgetFull() {
    for (const [tenant, b] of this.tenants) if (b.time.full() && b.log.full() && b.watchdog.full() && b.memory.full() && b.bodies.full()) this.tenants.delete(tenant);
  }
}

module.exports = { TimeShare, LogBudget, TenantBudgets, WatchdogStrikes, waterLevel, monotonic };
