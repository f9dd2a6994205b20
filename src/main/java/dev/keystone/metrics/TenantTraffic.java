package dev.keystone.metrics;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** What one tenant served: per-backend counts, total latency, retries and script outcomes. */
public final class TenantTraffic {

  private final Map<String, BackendTraffic> backends = new ConcurrentHashMap<>();
  private final Histogram duration = new Histogram();
  /** Made on the first scripted request: most tenants have no script. */
  private final java.util.concurrent.atomic.AtomicReference<Histogram> scriptDuration = new java.util.concurrent.atomic.AtomicReference<>();
  final LongAdder retries = new LongAdder();
  final LongAdder scriptRuns = new LongAdder();
  final LongAdder scriptErrors = new LongAdder();
  final LongAdder scriptLimitHits = new LongAdder();
  /** Decisions of a script in shadow mode, by kind (continue, route, respond, reject, error): bounded. */
  private final Map<String, LongAdder> shadowDecisions = new ConcurrentHashMap<>();

  /** Copies sent to the tenant's mirror, by outcome (sent, failed, dropped, skipped): bounded. */
  private final Map<String, LongAdder> mirrored = new ConcurrentHashMap<>();

  void countMirrored(String outcome) {
    LongAdder a = mirrored.get(outcome);
    (a != null ? a : mirrored.computeIfAbsent(outcome, k -> new LongAdder())).increment();
  }

  /** Mirror copies by outcome. */
  public Map<String, Long> mirrored() {
    Map<String, Long> out = new java.util.TreeMap<>();
    mirrored.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  void countShadow(String kind) {
    LongAdder a = shadowDecisions.get(kind);
    (a != null ? a : shadowDecisions.computeIfAbsent(kind, k -> new LongAdder())).increment();
  }

  /** Shadow-mode decisions by kind. */
  public Map<String, Long> shadowDecisions() {
    Map<String, Long> out = new java.util.TreeMap<>();
    shadowDecisions.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  /** Traffic to {@code backend}; "" for requests answered without a backend. */
  public BackendTraffic backend(String backend) {
    BackendTraffic b = backends.get(backend);
    return b != null ? b : backends.computeIfAbsent(backend, k -> new BackendTraffic());
  }

  /** Per backend name, including "" (answered without a backend). */
  public Map<String, BackendTraffic> backends() {
    return backends;
  }

  public Histogram duration() {
    return duration;
  }

  void observeScript(long nanos) {
    Histogram.observeInto(scriptDuration, nanos);
  }

  /** How long script decisions took, or null before the first one. */
  public Histogram scriptDuration() {
    return scriptDuration.get();
  }

  public long retries() {
    return retries.sum();
  }

  public long scriptRuns() {
    return scriptRuns.sum();
  }

  /** Script failures of any kind, limit hits included. */
  public long scriptErrors() {
    return scriptErrors.sum();
  }

  public long scriptLimitHits() {
    return scriptLimitHits.sum();
  }

  /** Requests with this status class over all backends. */
  public long requestsWithCode(int code) {
    long n = 0;
    for (BackendTraffic b : backends.values()) {
      n += b.requestsWithCode(code);
    }
    return n;
  }

  public long total() {
    long n = 0;
    for (BackendTraffic b : backends.values()) {
      n += b.total();
    }
    return n;
  }

  void retainBackends(Set<String> names) {
    backends.keySet().removeIf(k -> !k.isEmpty() && !names.contains(k));
  }
}
