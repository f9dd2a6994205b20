package dev.keystone.metrics;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The gateway's counters, runtime state kept apart from the config (like health): keyed by
 * tenant and backend name, so they survive reloads; names a reload removes are dropped, so the
 * label sets stay bounded by the config.
 *
 * <p>Recording is lock-free and allocation-free once a cell exists: it runs on every request.
 */
public final class Metrics {

  /** How a request's script went, for {@link #record}. */
  public enum ScriptOutcome { NONE, OK, ERROR, LIMIT }

  private final Map<String, TenantTraffic> tenants = new ConcurrentHashMap<>();
  private final LongAdder inFlight = new LongAdder();
  private final LongAdder reloadsApplied = new LongAdder();
  private final LongAdder reloadsRejected = new LongAdder();
  private final LongAdder authFailures = new LongAdder();
  /**
   * The configured tenants and their backends (from the last {@link #retain}), or null before
   * the first: a request of a removed tenant that ends after the reload must not make its series
   * again.
   */
  private volatile Map<String, Set<String>> live;

  /** Traffic of {@code tenant}; "" for requests that matched no tenant. */
  public TenantTraffic tenant(String tenant) {
    TenantTraffic t = tenants.get(tenant);
    return t != null ? t : tenants.computeIfAbsent(tenant, k -> new TenantTraffic());
  }

  public Map<String, TenantTraffic> tenants() {
    return tenants;
  }

  public void started() {
    inFlight.increment();
  }

  /**
   * Records one finished request.
   *
   * @param tenant        tenant name, "" for none
   * @param backend       backend name, "" for none
   * @param status        status sent to the client, 0 when the client left first
   * @param totalNanos    from the request's arrival to its end
   * @param upstreamNanos from sending to the backend to its response head, or -1
   * @param retries       attempts on another backend
   * @param scriptNanos   the script's decision time (embedded call or remote round trip), or -1
   */
  public void record(String tenant, String backend, String method, int status, long totalNanos, long upstreamNanos,
                     int retries, ScriptOutcome script, long scriptNanos) {
    inFlight.decrement();
    Map<String, Set<String>> configured = live;
    TenantTraffic t = tenants.get(tenant);
    if (t == null) {
      if (configured != null && !tenant.isEmpty() && !configured.containsKey(tenant)) {
        return; // a request of a tenant a reload removed: its series are gone and stay gone
      }
      t = tenant(tenant);
    }
    BackendTraffic b = t.backends().get(backend);
    if (b == null) {
      Set<String> names = configured == null ? null : configured.get(tenant);
      if (names != null && !backend.isEmpty() && !names.contains(backend)) {
        return;
      }
      b = t.backend(backend);
    }
    b.count(BackendTraffic.methodClass(method), BackendTraffic.codeClass(status));
    if (upstreamNanos >= 0) {
      b.observeUpstream(upstreamNanos);
    }
    if (retries > 0) {
      t.retries.add(retries);
    }
    switch (script) {
      case OK -> t.scriptRuns.increment();
      case ERROR -> {
        t.scriptRuns.increment();
        t.scriptErrors.increment();
      }
      case LIMIT -> {
        t.scriptRuns.increment();
        t.scriptErrors.increment();
        t.scriptLimitHits.increment();
      }
      case NONE -> {
      }
    }
    // The durations last, the request's own at the very end: a scrape that sees a request in
    // them sees its counts too (tests wait for the duration count, then read the others).
    if (scriptNanos >= 0) {
      t.observeScript(scriptNanos);
    }
    t.duration().observeNanos(totalNanos);
  }

  /**
   * Counts a shadow-mode script's decision for {@code tenant}: its kind, the text before the first
   * letters of {@code decision} ("route:canary+edits" counts as route), one of a fixed few.
   */
  public void shadowDecision(String tenant, String decision) {
    TenantTraffic t = tenants.get(tenant);
    if (t == null) {
      return; // (a tenant a reload removed)
    }
    int end = 0;
    while (end < decision.length() && Character.isLetter(decision.charAt(end))) {
      end++;
    }
    t.countShadow(decision.substring(0, end));
  }

  /** Counts a copy of a request of {@code tenant} sent to its mirror: sent, failed, dropped or skipped. */
  public void mirrored(String tenant, String outcome) {
    TenantTraffic t = tenants.get(tenant);
    if (t != null) {
      t.countMirrored(outcome);
    }
  }

  public long inFlight() {
    return inFlight.sum();
  }

  public void reloaded(boolean applied) {
    (applied ? reloadsApplied : reloadsRejected).increment();
  }

  public long reloadsApplied() {
    return reloadsApplied.sum();
  }

  public long reloadsRejected() {
    return reloadsRejected.sum();
  }

  public void authFailed() {
    authFailures.increment();
  }

  public long authFailures() {
    return authFailures.sum();
  }

  /** Drops tenants and backends no longer configured ({@code backends}: tenant name to backend names). */
  public void retain(Map<String, Set<String>> backends) {
    live = Map.copyOf(backends);
    tenants.keySet().removeIf(k -> !k.isEmpty() && !backends.containsKey(k));
    tenants.forEach((name, t) -> {
      Set<String> names = backends.get(name);
      if (names != null) {
        t.retainBackends(names);
      }
    });
  }
}
