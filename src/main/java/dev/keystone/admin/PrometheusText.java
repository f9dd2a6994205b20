package dev.keystone.admin;

import dev.keystone.engine.EngineSupervisor;

import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;
import dev.keystone.metrics.BackendTraffic;
import dev.keystone.metrics.Histogram;
import dev.keystone.metrics.TenantTraffic;
import dev.keystone.model.Backend;
import dev.keystone.model.BackendHealth;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The Prometheus text exposition (format 0.0.4) of the gateway's metrics. Every name and label is
 * listed in docs/observability.md; labels only take values from the config (tenant and backend
 * names, backend URLs) or from small fixed sets, never from requests.
 */
final class PrometheusText {

  private PrometheusText() {
  }

  static String render(GatewayControl g) {
    Snapshot s = g.snapshot();
    Exposition out = new Exposition();
    out.help("keystone_build_info", "gauge", "Always 1; the version is a label.");
    out.sample("keystone_build_info", 1, "version", g.version());
    out.help("keystone_start_time_seconds", "gauge", "When the gateway started (Unix time).");
    out.sample("keystone_start_time_seconds", g.startedAt().toEpochMilli() / 1000.0);
    requests(out, g);
    backends(out, s);
    config(out, g, s);
    EngineSupervisor e = g.supervisedEngine();
    if (e != null) {
      out.help("keystone_engine_restarts_total", "counter", "Restarts of the supervised script engine.");
      out.sample("keystone_engine_restarts_total", e.restarts());
    }
    if (!g.isolatedEngines().isEmpty()) {
      out.help("keystone_isolated_engine_restarts_total", "counter",
          "Restarts of the engine process of an isolation group (isolation: process).");
      g.isolatedEngines().forEach((group, engine) ->
          out.sample("keystone_isolated_engine_restarts_total", engine.restarts(), "group", group));
    }
    if (g.tlsPort() >= 0) {
      out.help("keystone_tls_handshakes_in_progress", "gauge", "TLS connections accepted and not through their handshake yet.");
      out.sample("keystone_tls_handshakes_in_progress", g.tlsHandshakesInProgress());
      out.help("keystone_tls_handshakes_refused_total", "counter",
          "TLS connections closed by the handshake bounds: the oldest handshake in progress cut to admit a new one,"
              + " or a new one closed unread.");
      out.sample("keystone_tls_handshakes_refused_total", g.tlsHandshakesRefused());
    }
    if (g.config().tls().acme() != null) {
      out.help("keystone_acme_orders_total", "counter", "ACME orders of tls: auto certificates, by result.");
      out.sample("keystone_acme_orders_total", g.acmeOrders(true), "result", "issued");
      out.sample("keystone_acme_orders_total", g.acmeOrders(false), "result", "failed");
    }
    var certificates = g.certificates().served();
    if (!certificates.isEmpty()) {
      out.help("keystone_certificate_expiry_timestamp_seconds", "gauge",
          "When a served certificate expires (Unix time); tenant=\"\" is tls_default. Alert on it minus time().");
      for (var c : certificates) {
        out.sample("keystone_certificate_expiry_timestamp_seconds", c.notAfter().getEpochSecond(),
            "tenant", c.tenant() == null ? "" : c.tenant());
      }
    }
    out.help("keystone_admin_auth_failures_total", "counter", "Admin API requests refused for a missing or wrong token.");
    out.sample("keystone_admin_auth_failures_total", g.metrics().authFailures());
    jvm(out);
    return out.toString();
  }

  private static void requests(Exposition out, GatewayControl g) {
    Map<String, TenantTraffic> tenants = g.metrics().tenants();
    out.help("keystone_requests_total", "counter",
        "Requests finished, by tenant (\"\" = no route), backend (\"\" = answered without one), method and status class.");
    tenants.forEach((tenant, t) -> t.backends().forEach((backend, b) -> {
      for (int m = 0; m < BackendTraffic.METHODS.length; m++) {
        for (int c = 0; c < BackendTraffic.CODES.length; c++) {
          long n = b.requests(m, c);
          if (n > 0) {
            out.sample("keystone_requests_total", n, "tenant", tenant, "backend", backend,
                "method", BackendTraffic.METHODS[m], "code", BackendTraffic.CODES[c]);
          }
        }
      }
    }));
    out.help("keystone_requests_in_flight", "gauge", "Requests received and not finished yet.");
    out.sample("keystone_requests_in_flight", g.metrics().inFlight());
    out.help("keystone_request_duration_seconds", "histogram", "Time from a request's arrival to the end of its response.");
    tenants.forEach((tenant, t) -> out.histogram("keystone_request_duration_seconds", t.duration(), "tenant", tenant));
    out.help("keystone_upstream_duration_seconds", "histogram",
        "Time from sending a request to a backend until its response head arrived.");
    tenants.forEach((tenant, t) -> t.backends().forEach((backend, b) -> {
      if (b.upstream() != null) {
        out.histogram("keystone_upstream_duration_seconds", b.upstream(), "tenant", tenant, "backend", backend);
      }
    }));
    out.help("keystone_script_duration_seconds", "histogram",
        "Time a routing script's decision took: the embedded call, or the round trip to a remote engine.");
    tenants.forEach((tenant, t) -> {
      if (t.scriptDuration() != null) {
        out.histogram("keystone_script_duration_seconds", t.scriptDuration(), "tenant", tenant);
      }
    });
    out.help("keystone_upstream_retries_total", "counter", "Requests retried on another backend after a connection failure.");
    out.help("keystone_script_runs_total", "counter", "Routing script calls (embedded or remote).");
    out.help("keystone_script_errors_total", "counter", "Routing script calls that failed (limit hits included).");
    out.help("keystone_script_limit_hits_total", "counter", "Routing script calls stopped by a limit (instructions, deadline, memory).");
    out.help("keystone_script_shadow_decisions_total", "counter",
        "Decisions of a script in shadow mode (script_mode: shadow), logged and counted, not applied.");
    out.help("keystone_mirror_requests_total", "counter",
        "Copies of requests for a tenant's mirror backend, by outcome: sent (answered), failed, dropped (too many at once,"
            + " the mirror unhealthy or its pool full), skipped (a streamed body).");
    tenants.forEach((tenant, t) -> {
      t.mirrored().forEach((outcome, n) -> out.sample("keystone_mirror_requests_total", n, "tenant", tenant,
          "outcome", outcome));
      t.shadowDecisions().forEach((kind, n) -> out.sample("keystone_script_shadow_decisions_total", n, "tenant", tenant,
          "decision", kind));
      if (t.retries() > 0) {
        out.sample("keystone_upstream_retries_total", t.retries(), "tenant", tenant);
      }
      if (t.scriptRuns() > 0) {
        out.sample("keystone_script_runs_total", t.scriptRuns(), "tenant", tenant);
        out.sample("keystone_script_errors_total", t.scriptErrors(), "tenant", tenant);
        out.sample("keystone_script_limit_hits_total", t.scriptLimitHits(), "tenant", tenant);
      }
    });
  }

  private static void backends(Exposition out, Snapshot s) {
    out.help("keystone_backend_up", "gauge", "1 when the backend's last health check passed.");
    out.help("keystone_backend_drained", "gauge", "1 when an operator drained the backend (it gets no new requests).");
    out.help("keystone_backend_ejected", "gauge", "1 while passive health keeps the backend out after failed requests.");
    out.help("keystone_backend_failures_total", "counter",
        "Requests that failed on the backend: no connection, timeout, broken connection, or a 5xx answer.");
    Map<BackendHealth, Backend> distinct = new IdentityHashMap<>();
    for (Tenant t : s.tenants()) {
      for (Backend b : t.pool().backends()) {
        out.sample("keystone_backend_up", b.health().healthy() ? 1 : 0, "tenant", t.name(), "backend", b.name());
        out.sample("keystone_backend_drained", b.health().drained() ? 1 : 0, "tenant", t.name(), "backend", b.name());
        out.sample("keystone_backend_ejected", b.health().ejected() ? 1 : 0, "tenant", t.name(), "backend", b.name());
        out.sample("keystone_backend_failures_total", b.health().passiveFailures(), "tenant", t.name(), "backend", b.name());
        distinct.putIfAbsent(b.health(), b);
      }
    }
    out.help("keystone_health_checks_total", "counter", "Active health checks by backend URL and result.");
    Map<String, long[]> byUrl = new java.util.TreeMap<>(); // one URL checked on two health paths: summed
    distinct.forEach((h, b) -> {
      long[] n = byUrl.computeIfAbsent(b.url(), k -> new long[2]);
      n[0] += h.checksPassed();
      n[1] += h.checksFailed();
    });
    byUrl.forEach((url, n) -> {
      out.sample("keystone_health_checks_total", n[0], "url", url, "result", "success");
      out.sample("keystone_health_checks_total", n[1], "url", url, "result", "failure");
    });
  }

  private static void config(Exposition out, GatewayControl g, Snapshot s) {
    out.help("keystone_config_version", "gauge", "Version of the running config (1 at start, +1 per applied reload).");
    out.sample("keystone_config_version", s.version());
    out.help("keystone_config_loaded_timestamp_seconds", "gauge", "When the running config was applied (Unix time).");
    out.sample("keystone_config_loaded_timestamp_seconds", s.loadedAt().toEpochMilli() / 1000.0);
    dev.keystone.model.StoreStatus store = g.configStore();
    if (store != null) {
      out.help("keystone_config_store_up", "gauge", "1 while the config store (etcd) answers; 0 while this instance serves its last config without it.");
      out.sample("keystone_config_store_up", store.reachable() ? 1 : 0);
      out.help("keystone_config_store_revision", "gauge", "The store revision of the config being served.");
      out.sample("keystone_config_store_revision", store.revision());
    }
    dev.keystone.model.StateStoreStatus state = g.stateStoreStatus();
    if (state != null) {
      out.help("keystone_state_store_up", "gauge", "1 while the state store (Redis) answers; 0 while cluster rate limits use their fallback.");
      out.sample("keystone_state_store_up", state.up() ? 1 : 0);
    }
    out.help("keystone_rate_limit_keys", "gauge", "Keys the rate limits count on this instance (clients, header values...).");
    out.sample("keystone_rate_limit_keys", g.rateLimitKeys());
    out.help("keystone_config_reloads_total", "counter", "Reload attempts by result.");
    out.sample("keystone_config_reloads_total", g.metrics().reloadsApplied(), "result", "success");
    out.sample("keystone_config_reloads_total", g.metrics().reloadsRejected(), "result", "failure");
    out.help("keystone_tenants", "gauge", "Tenants in the running config.");
    out.sample("keystone_tenants", s.tenants().size());
  }

  private static void jvm(Exposition out) {
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
    out.help("jvm_memory_used_bytes", "gauge", "JVM memory in use.");
    out.sample("jvm_memory_used_bytes", heap.getUsed(), "area", "heap");
    out.sample("jvm_memory_used_bytes", nonHeap.getUsed(), "area", "nonheap");
    out.help("jvm_memory_committed_bytes", "gauge", "JVM memory committed by the operating system.");
    out.sample("jvm_memory_committed_bytes", heap.getCommitted(), "area", "heap");
    out.sample("jvm_memory_committed_bytes", nonHeap.getCommitted(), "area", "nonheap");
    out.help("jvm_memory_max_bytes", "gauge", "Most memory the JVM may use (-1: no limit).");
    out.sample("jvm_memory_max_bytes", heap.getMax(), "area", "heap");
    out.sample("jvm_memory_max_bytes", nonHeap.getMax(), "area", "nonheap");
    out.help("jvm_gc_collections_total", "counter", "Garbage collections by collector.");
    out.help("jvm_gc_collection_seconds_total", "counter", "Time spent in garbage collection by collector.");
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      out.sample("jvm_gc_collections_total", Math.max(0, gc.getCollectionCount()), "gc", gc.getName());
      out.sample("jvm_gc_collection_seconds_total", Math.max(0, gc.getCollectionTime()) / 1000.0, "gc", gc.getName());
    }
    // Direct buffers hold the bytes in flight (Netty's pools): a leak shows here before anywhere else.
    out.help("jvm_buffer_pool_used_bytes", "gauge", "Memory used by the JVM's buffer pools (direct and mapped buffers).");
    for (java.lang.management.BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)) {
      out.sample("jvm_buffer_pool_used_bytes", Math.max(0, pool.getMemoryUsed()), "pool", pool.getName());
    }
    out.help("keystone_direct_memory_used_bytes", "gauge",
        "Direct memory held by the network buffers (Netty's own count when it keeps one).");
    out.sample("keystone_direct_memory_used_bytes", dev.keystone.proxy.DirectMemory.used());
    out.help("keystone_direct_memory_max_bytes", "gauge", "The direct memory limit.");
    out.sample("keystone_direct_memory_max_bytes", dev.keystone.proxy.DirectMemory.max());
    out.help("jvm_threads_live", "gauge", "Live JVM threads.");
    out.sample("jvm_threads_live", ManagementFactory.getThreadMXBean().getThreadCount());
  }
}
