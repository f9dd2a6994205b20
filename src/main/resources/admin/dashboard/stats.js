// stats.js: turns two successive reads of cumulative counters (a tenant's traffic, or one
// backend's requests and upstream latency) into rates (req/s, % of 5xx, average and p95
// latency). Pure functions, no DOM: the same file loads in the page and in Node for a quick test.
(function (KS) {
  'use strict';

  // `le` is a number, or "+Inf" (a string, since JSON has no infinity).
  function upperBound(le) {
    if (typeof le === 'number') return le;
    if (le === '+Inf' || le === 'Inf' || le === 'inf') return Infinity;
    var n = parseFloat(le);
    return isNaN(n) ? NaN : n;
  }

  // The histogram's buckets as [{le: Number, count: Number}], sorted, ignoring anything that
  // is not a proper bucket.
  function buckets(duration) {
    var list = duration && Array.isArray(duration.buckets) ? duration.buckets : [];
    return list
      .filter(function (b) { return b && typeof b === 'object' && typeof b.count === 'number' && !isNaN(upperBound(b.le)); })
      .map(function (b) { return { le: upperBound(b.le), count: b.count }; })
      .sort(function (a, b) { return a.le - b.le; });
  }

  // p95 of the requests that arrived between two reads of a cumulative histogram. The counts
  // are cumulative (each bucket counts everything <= le), so the difference per bucket is
  // cumulative too: find the first bucket where it reaches 95 % of all new requests, then
  // interpolate linearly between the previous bound (or 0) and this one.
  // Returns {seconds, above} or null when there is nothing to measure. above=true means the
  // value lies past the last finite bound (the +Inf bucket): seconds is then that bound.
  function p95(prevDuration, curDuration) {
    var before = new Map();
    buckets(prevDuration).forEach(function (b) { before.set(b.le, b.count); });
    var deltas = [];
    buckets(curDuration).forEach(function (b) {
      if (before.has(b.le)) deltas.push({ le: b.le, count: b.count - before.get(b.le) });
    });
    var dCount = (curDuration && curDuration.count || 0) - (prevDuration && prevDuration.count || 0);
    var total = dCount > 0 ? dCount : (deltas.length ? deltas[deltas.length - 1].count : 0);
    if (!(total > 0) || deltas.length === 0) return null;
    var target = 0.95 * total;
    var lowerLe = 0, lowerCount = 0;
    for (var i = 0; i < deltas.length; i++) {
      var d = deltas[i];
      if (d.count >= target) {
        if (d.le === Infinity) return { seconds: lowerLe, above: true };
        var inBucket = d.count - lowerCount;
        var fraction = inBucket > 0 ? (target - lowerCount) / inBucket : 1;
        return { seconds: lowerLe + (d.le - lowerLe) * Math.min(1, Math.max(0, fraction)), above: false };
      }
      if (d.le !== Infinity) { lowerLe = d.le; lowerCount = d.count; }
    }
    // No +Inf bucket and some requests were slower than the last finite bound.
    return { seconds: lowerLe, above: true };
  }

  // A snapshot of one tenant's counters, taken at `at` (seconds, from the server's "time").
  function snapshot(tenant, at) {
    var t = tenant.traffic || {};
    return {
      at: at,
      requests: typeof t.requests === 'number' ? t.requests : 0,
      errors: t.by_status && typeof t.by_status['5xx'] === 'number' ? t.by_status['5xx'] : 0,
      duration: t.duration || null
    };
  }

  // The same shape for one backend: its own requests, 5xx and `upstream_duration` (request
  // sent to response head), a histogram with the buckets of traffic.duration, so rates() and
  // p95() apply unchanged. `duration` is null when the gateway does not report it.
  function backendSnapshot(backend, at) {
    var b = backend || {};
    return {
      at: at,
      requests: typeof b.requests === 'number' ? b.requests : 0,
      errors: typeof b.errors === 'number' ? b.errors : 0,
      duration: b.upstream_duration && typeof b.upstream_duration === 'object' ? b.upstream_duration : null
    };
  }

  // Rates between two snapshots, or null when they cannot be compared (first read, no time
  // elapsed, or counters went backwards because the gateway restarted).
  function rates(prev, cur) {
    if (!prev || !cur) return null;
    var dt = cur.at - prev.at;
    var dReq = cur.requests - prev.requests;
    var dErr = cur.errors - prev.errors;
    var pd = prev.duration || {}, cd = cur.duration || {};
    var dCount = (cd.count || 0) - (pd.count || 0);
    var dSum = (cd.sum_seconds || 0) - (pd.sum_seconds || 0);
    // A histogram count going backwards is a reset too; without this check it would read as
    // "no request in the interval" ("—") instead of "measuring again" ("…"). A histogram
    // missing from one read is not a reset: it only leaves the latency unknown.
    var reset = prev.duration && cur.duration && dCount < 0;
    if (!(dt > 0) || dReq < 0 || dErr < 0 || reset) return null;
    return {
      // requests measured by the histogram in the interval (for tooltips)
      count: dCount,
      rate: dReq / dt,
      // null when no request arrived: "no errors" and "nothing to judge" are different things
      errorPct: dReq > 0 ? Math.min(100, 100 * dErr / dReq) : null,
      avgSeconds: dCount > 0 && dSum >= 0 ? dSum / dCount : null,
      p95: dCount > 0 ? p95(pd, cd) : null
    };
  }

  KS.stats = { snapshot: snapshot, backendSnapshot: backendSnapshot, rates: rates, p95: p95, upperBound: upperBound };
})(typeof window !== 'undefined' ? (window.Keystone = window.Keystone || {}) : module.exports);
