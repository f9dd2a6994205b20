'use strict';
// Keeping the engine within its memory budget (memory-plan.js): past trimAtBytes of resident
// memory, measured after each call as a cgroup counts it, isolates are dropped. Their tenants'
// next calls make them again (a script's globals are not kept anyway: kv is).
//
// Which ones: what the isolates may hold together (trimAtBytes less what the engine holds besides
// them) is shared max-min fairly (budgets.js waterLevel): an isolate holding more than the fair
// level is over its share. Those go first, least recently used first (the running call's too: its
// call has run, and dropping a small isolate instead frees little), and their tenants' calls then
// wait (a memory strike, budgets.js: 1 s, 2, 4 ...); then the least recently used others, with no
// strike. What an isolate holds is read from its memory's mapping (resident.js), not from the
// size of its WebAssembly memory, which starts at 16 MiB with 11 of heap: sixteen tenants keeping
// 9 MiB each never "grew", and an ordinary tenant keeping 12 MiB was the one dropped and
// penalised, over and over (attack round 6, N6-2). Dropping the least recently used alone, ten tenants keeping
// 14 MiB each got a light tenant's isolate dropped every round and rebuilt their own on every
// call, each a lump of the engine's thread (round 5, N5-1).
// What the engine holds besides its isolates counts at its floor over the last 10 s (OwnFloor):
// above it is garbage of requests (a flood of bodies), collected by V8, not made up for by
// dropping isolates.
// A dropped isolate's memory is resident until V8 collects it: what was dropped and not yet
// collected (unfreed.js) does not count as resident, and after dropping one over its share the
// engine asks V8 for a collection as soon as the call has returned.

const { TenantIsolate } = require('./isolate');
const { Unfreed } = require('./unfreed');
const { monotonic, waterLevel } = require('./budgets');
const { residentBytes, residentIn } = require('./resident');

// An isolate holding no more than this is never over its share: when the engine's own memory
// (kv, waiting requests) leaves the isolates almost nothing, light tenants are not penalised.
const SMALL_BYTES = 2 * 1024 * 1024;
const MIB = 1024 * 1024;
const MEASURE_EVERY_MS = 100;
// Below the line, the isolates are measured (for the engine's floor) at most this often, and only
// once the engine holds half the line: a few ms with many isolates.
const CALM_MEASURE_EVERY_MS = 1000;
// The engine's own memory counts at its lowest over this long (OwnFloor).
const FLOOR_WINDOW_MS = 10000;
// Garbage above the floor: a full collection (a few ms of the thread) at most this often.
const COLLECT_EVERY_MS = 1000;

/**
 * The least the engine held besides its isolates over the last FLOOR_WINDOW_MS: what it keeps
 * (Node, kv, compiled scripts), without what comes and goes (requests' bodies, their garbage until
 * V8 collects it). At each instant, everything else resident counted as the engine's: a flood of
 * 300 KB bodies from eight anonymous clients shrank the isolates' share to 2-4 MiB, and an
 * ordinary tenant keeping 12 MiB was dropped and refused for it (round 8, N8-2). Memory that
 * stays longer than the window is the engine's own.
 */
class OwnFloor {
  constructor(windowMs = FLOOR_WINDOW_MS) {
    this.windowMs = windowMs;
    this.seconds = []; // [{second, least}], oldest first
  }

  /** Notes that the engine held `bytes` besides its isolates at `now` (ms); returns the floor. */
  note(bytes, now) {
    const second = Math.floor(now / 1000);
    const last = this.seconds[this.seconds.length - 1];
    if (last !== undefined && last.second === second) last.least = Math.min(last.least, bytes);
    else this.seconds.push({ second, least: bytes });
    while (this.seconds[0].second <= second - this.windowMs / 1000) this.seconds.shift();
    let least = Infinity;
    for (const s of this.seconds) least = Math.min(least, s.least);
    return least;
  }
}

class Trim {
  /**
   * `trimAtBytes`: Infinity for none; `budgets`: the tenants' (TenantBudgets), for their memory
   * strikes; `transientBytes()`: what requests waiting for their turn hold (scheduler.js).
   */
  constructor(trimAtBytes, budgets, log, transientBytes = () => 0) {
    this.trimAtBytes = trimAtBytes;
    this.transientBytes = transientBytes;
    this.budgets = budgets;
    this.log = log;
    this.unfreed = new Unfreed();
    this.logged = 0;
    this.measuredAt = -Infinity;
    this.floor = new OwnFloor();
    this.collectedAt = -Infinity;
  }

  /** Reads what each of `live` holds, at most every MEASURE_EVERY_MS (a few ms with many isolates) unless `force`; between, what was read. */
  measure(live, now, force = false) {
    if (!force && now - this.measuredAt < MEASURE_EVERY_MS) return;
    this.measuredAt = now;
    const measured = residentIn(live.map((i) => ({ base: i.base, bytes: i.maxBytes })));
    live.forEach((i, k) => {
      if (i.base !== null) i.resident = measured[k];
    });
  }

  /**
   * Before a new isolate is made: memory of dropped isolates that V8 has not collected yet is
   * collected first, so that the new one's 16 MiB are not added on top of it (the engine peaked at
   * 164 MiB under a 160 MiB budget in CI, session 17, when the collection came after).
   */
  beforeNew() {
    if (this.trimAtBytes !== Infinity && this.unfreed.bytes() > 0) this.unfreed.collectNow();
  }

  /** After a call of `current`'s: drops from `isolates` (tenant -> TenantIsolate, or a promise of one) what must go. */
  trim(isolates, current) {
    if (this.trimAtBytes === Infinity) return;
    const resident = residentBytes() - this.unfreed.bytes();
    const over = resident - this.trimAtBytes;
    const now = Date.now();
    // Below the line, only the floor is noted, now and then.
    if (over <= 0 && (now - this.measuredAt < CALM_MEASURE_EVERY_MS || resident < this.trimAtBytes / 2)) return;
    const live = [];
    for (const i of isolates.values()) if (i instanceof TenantIsolate) live.push(i);
    this.measure(live, now);
    let held = 0;
    for (const i of live) held += i.resident;
    // The engine's own: what it holds besides the isolates, but for requests waiting for their
    // turn (bounded, and gone in a moment: a flood of big bodies shrank every tenant's share to
    // 2 MiB, and tenants keeping nothing were penalised, N7-2); counted at its floor.
    const own = resident - held - this.transientBytes();
    const floor = this.floor.note(own, now);
    if (over <= 0) return;
    // Above the floor: garbage V8 has not collected yet. Collected, not made up for by isolates.
    const passing = Math.max(0, own - floor);
    if (passing > 0 && now - this.collectedAt >= COLLECT_EVERY_MS) {
      this.collectedAt = now;
      this.unfreed.collectSoon();
    }
    const excess = over - passing;
    if (excess <= 0) return;
    const share = Math.max(0, this.trimAtBytes - floor);
    let level = Math.max(SMALL_BYTES, waterLevel(share, live.map((i) => i.resident)));
    // `live` is least recently used first (Scripts.isolate moves a used one last)
    let overShare = live.filter((i) => i.resident > level);
    if (overShare.length === 0 && this.measuredAt !== now) {
      // Before tenants within their share pay: what was read may be up to MEASURE_EVERY_MS old,
      // from before a big tenant's new isolate filled up (the light tenant's isolate was dropped
      // so in CI, session 19). Read again: a few ms, on this rare path only.
      this.measure(live, now, true);
      level = Math.max(SMALL_BYTES, waterLevel(share, live.map((i) => i.resident)));
      overShare = live.filter((i) => i.resident > level);
    }
    // Tenants within their share lose their isolates only when no one is over it: those over it
    // make the room (their memory comes back once V8 collects it, which the next calls' trims
    // see). Under load the collection lags, and the light tenant's isolate was dropped in the same
    // pass as the 9 MiB ones, round after round (N6-2 failed so in CI, session 17).
    const others = overShare.length > 0 ? [] : live.filter((i) => i.resident <= level && i.tenant !== current);
    let freed = 0;
    let dropped = 0;
    let struck = 0;
    const at = monotonic();
    for (const i of [...overShare, ...others]) {
      if (freed >= excess) break;
      isolates.delete(i.tenant);
      this.unfreed.add(i.memory, i.resident);
      freed += i.resident;
      dropped++;
      if (i.resident > level) {
        struck++;
        this.budgets.of(i.tenant).memory.ended(`it held ${Math.round(i.resident / MIB)} MiB, more than its share `
          + `of ${Math.round(level / MIB)} MiB while the engine's memory was short`, at);
      }
    }
    if (struck > 0) {
      this.unfreed.collectNow();
      this.unfreed.collectSoon(); // (and the running call's own isolate, once the call has returned)
    }
    if (dropped > 0 && Date.now() - this.logged >= 10000) {
      this.logged = Date.now();
      this.log(`engine memory: ${resident >> 20} MiB resident, above ${this.trimAtBytes >> 20} MiB; `
        + `dropped ${dropped} isolate(s), ${struck} of them over their share of ${Math.round(level / MIB)} MiB (their tenants wait)`);
    }
  }
}

module.exports = { Trim, OwnFloor };
