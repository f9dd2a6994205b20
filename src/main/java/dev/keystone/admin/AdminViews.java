package dev.keystone.admin;

import dev.keystone.engine.EngineSupervisor;
import dev.keystone.model.Events;

import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;
import dev.keystone.metrics.BackendTraffic;
import dev.keystone.metrics.Histogram;
import dev.keystone.metrics.TenantTraffic;
import dev.keystone.model.Backend;
import dev.keystone.model.BackendHealth;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The admin API's JSON documents (shapes in docs/admin-api.md), built from a gateway's state. */
final class AdminViews {

  private AdminViews() {
  }

  /** Cluster mode: the store, the revision served, and whether etcd answers (said, not failed: see /readyz). */
  static JsonObject store(dev.keystone.model.StoreStatus s) {
    return new JsonObject().put("store", s.store()).put("revision", s.revision())
        .put("status", s.reachable() ? "connected" : "unreachable").put("since", s.since().toString())
        .put("problem", s.problem()).put("from_cache", s.fromCache())
        .put("refused_revision", s.refusedRevision() == 0 ? null : s.refusedRevision()).put("refusal", s.refusal());
  }

  static JsonObject status(GatewayControl g) {
    Snapshot s = g.snapshot();
    Instant now = g.clock().instant();
    int total = 0;
    int healthy = 0;
    int drained = 0;
    for (BackendHealth h : distinctBackends(s).keySet()) {
      total++;
      healthy += h.healthy() ? 1 : 0;
      drained += h.drained() ? 1 : 0;
    }
    long requests = 0;
    for (TenantTraffic t : g.metrics().tenants().values()) {
      requests += t.total();
    }
    EngineSupervisor e = g.supervisedEngine();
    return new JsonObject()
        .put("version", g.version())
        .put("started_at", g.startedAt().toString())
        .put("uptime_seconds", Duration.between(g.startedAt(), now).toMillis() / 1000.0)
        .put("time", now.toString())
        .put("listen", g.listen().host() + ":" + g.port())
        .put("transport", g.nativeTransport() ? "epoll" : "nio")
        .put("config", new JsonObject().put("version", s.version()).put("source", s.source())
            .put("loaded_at", s.loadedAt().toString()))
        .put("tenants", s.tenants().size())
        .put("backends", new JsonObject().put("total", total).put("healthy", healthy).put("drained", drained))
        .put("requests", new JsonObject().put("total", requests).put("in_flight", g.metrics().inFlight()))
        .put("engine", e == null ? null
            : new JsonObject().put("url", e.url()).put("pid", e.pid()).put("restarts", e.restarts()))
        .put("isolated_engines", isolatedEngines(g))
        .put("config_store", g.configStore() == null ? null : store(g.configStore()))
        .put("state_store", g.stateStoreStatus() == null ? null : new JsonObject().put("url", g.stateStoreStatus().url())
            .put("status", g.stateStoreStatus().up() ? "connected" : "unreachable").put("problem", g.stateStoreStatus().problem()));
  }

  /** The engine processes of isolation groups ({@code isolation: process}), by group. */
  private static JsonObject isolatedEngines(GatewayControl g) {
    JsonObject groups = new JsonObject();
    g.isolatedEngines().forEach((group, e) ->
        groups.put(group, new JsonObject().put("url", e.url()).put("pid", e.pid()).put("restarts", e.restarts())));
    return groups;
  }

  /**
   * The tenants, in config order.
   *
   * @param query a text that the name, a domain or the path prefix must contain (any case), or null
   * @param limit at most this many in the answer ({@code matched} still counts them all)
   */
  static JsonObject tenants(GatewayControl g, String query, int limit) {
    Snapshot s = g.snapshot();
    String q = query == null || query.isBlank() ? null : query.trim().toLowerCase(java.util.Locale.ROOT);
    JsonArray list = new JsonArray();
    int matched = 0;
    for (Tenant t : s.tenants()) {
      if (q != null && !matches(t, q)) {
        continue;
      }
      if (matched++ < limit) {
        JsonObject tenant = tenant(t, g.metrics().tenants().get(t.name()));
        dev.keystone.rollout.Rollouts.View rollout = g.rollouts() == null ? null : g.rollouts().get(t.name());
        if (rollout != null) {
          tenant.put("rollout", new JsonObject().put("canary", rollout.plan().canary()).put("state", rollout.state())
              .put("percent", rollout.percent()));
        }
        list.add(tenant);
      }
    }
    return new JsonObject().put("config_version", s.version()).put("time", g.clock().instant().toString())
        .put("total", s.tenants().size()).put("matched", matched).put("tenants", list);
  }

  private static boolean matches(Tenant c, String q) {
    if (c.name().toLowerCase(java.util.Locale.ROOT).contains(q)
        || (c.pathPrefix() != null && c.pathPrefix().toLowerCase(java.util.Locale.ROOT).contains(q))) {
      return true;
    }
    return c.domains().stream().anyMatch(d -> d.contains(q)); // domains are stored in lower case
  }

  /** Which catalog entry a tenant runs; never its params, which may hold secrets (API keys, tokens). */
  static JsonObject catalog(dev.keystone.model.CatalogScript c) {
    return c == null ? null : new JsonObject().put("name", c.name()).put("version", c.version()).put("sha256", c.sha256())
        .put("signed", c.signed());
  }

  private static JsonObject tenant(Tenant t, TenantTraffic traffic) {
    Tenant c = t;
    JsonObject routes = new JsonObject().put("domains", new JsonArray(c.domains())).put("path_prefix", c.pathPrefix())
        .put("strip_prefix", c.stripPrefix()).put("preserve_host", c.preserveHost());
    JsonObject script = c.script() == null ? null : new JsonObject().put("name", c.script().name())
        .put("engine", c.script().compiled() != null ? "embedded" : "remote")
        .put("on_error", c.script().failOpen() ? "fail_open" : "fail_closed")
        .put("mode", c.script().shadow() ? "shadow" : "enforce")
        .put("catalog", catalog(c.script().catalog()));
    JsonArray backends = new JsonArray();
    for (Backend b : t.pool().backends()) {
      backends.add(backend(b, traffic == null ? null : traffic.backends().get(b.name())));
    }
    return new JsonObject().put("name", t.name()).put("routes", routes)
        .put("health_interval_seconds", c.healthInterval().toMillis() / 1000.0)
        .put("script", script).put("traffic", traffic(traffic)).put("backends", backends);
  }

  private static JsonObject backend(Backend b, BackendTraffic traffic) {
    BackendHealth h = b.health();
    JsonArray transitions = new JsonArray();
    for (BackendHealth.Transition tr : h.history()) {
      transitions.add(new JsonObject().put("at", tr.at().toString()).put("healthy", tr.healthy()).put("reason", tr.reason()));
    }
    return new JsonObject().put("name", b.name()).put("url", b.url()).put("health_path", b.healthUri())
        .put("weight", b.weight()).put("standby", b.standby()).put("labels", new JsonObject(new LinkedHashMap<>(b.labels())))
        .put("healthy", h.healthy()).put("drained", h.drained()).put("available", b.healthy())
        .put("ejected", h.ejected()).put("ejected_until", h.ejectedUntil() == null ? null : h.ejectedUntil().toString())
        .put("consecutive_failures", h.consecutiveFailures()).put("failures", h.passiveFailures())
        .put("last_check", h.lastCheck() == null ? null : h.lastCheck().toString()).put("last_reason", h.lastReason())
        .put("requests", traffic == null ? 0 : traffic.total())
        .put("errors", traffic == null ? 0 : traffic.requestsWithCode(4))
        .put("upstream_duration", histogram(traffic == null ? null : traffic.upstream()))
        .put("transitions", transitions);
  }

  private static JsonObject traffic(TenantTraffic t) {
    JsonObject byStatus = new JsonObject();
    for (int c = 0; c < 5; c++) {
      byStatus.put(BackendTraffic.CODES[c], t == null ? 0 : t.requestsWithCode(c));
    }
    return new JsonObject().put("requests", t == null ? 0 : t.total()).put("by_status", byStatus)
        .put("aborted", t == null ? 0 : t.requestsWithCode(5))
        .put("duration", histogram(t == null ? null : t.duration()));
  }

  /** A cumulative histogram as JSON (all zero for null: nothing observed yet). */
  private static JsonObject histogram(Histogram h) {
    JsonArray buckets = new JsonArray();
    long[] cumulative = h == null ? new long[Histogram.BOUNDS.length + 1] : h.cumulative();
    for (int i = 0; i < cumulative.length; i++) {
      buckets.add(new JsonObject().put("le", i < Histogram.BOUNDS.length ? (Object) Histogram.BOUNDS[i] : "+Inf")
          .put("count", cumulative[i]));
    }
    return new JsonObject().put("count", cumulative[cumulative.length - 1])
        .put("sum_seconds", h == null ? 0.0 : h.sumSeconds()).put("buckets", buckets);
  }

  /** Health transitions of every backend, reloads and drains, newest first. */
  /** The certificates served on the TLS listener, soonest to expire first. */
  static JsonObject certificates(GatewayControl g) {
    Instant now = g.clock().instant();
    JsonArray list = new JsonArray();
    g.certificates().served().stream()
        .sorted(java.util.Comparator.comparing(dev.keystone.tls.ServerCertificates.Served::notAfter))
        .forEach(c -> list.add(new JsonObject().put("tenant", c.tenant()).put("default", c.tenant() == null)
            .put("names", new JsonArray(c.names())).put("not_after", c.notAfter().toString())
            .put("days_left", java.time.Duration.between(now, c.notAfter()).toDays())
            .put("issuer", c.issuer()).put("cert", c.certFile() == null ? null : c.certFile().toString())
            .put("key", c.keyFile() == null ? null : c.keyFile().toString()) // none: tls local, made in memory
            .put("source", c.source())));
    var tls = g.config().tls();
    return new JsonObject().put("tls_listen", tls.enabled() ? tls.listen().host() + ":" + g.tlsPort() : null)
        .put("certificates", list);
  }

  static JsonObject events(GatewayControl g) {
    record Item(Instant at, JsonObject json) {
    }
    List<Item> items = new ArrayList<>();
    distinctBackends(g.snapshot()).forEach((health, users) -> {
      Backend b = users.get(0).backend;
      JsonArray tenants = new JsonArray(users.stream().map(u -> u.tenant).distinct().toList());
      for (BackendHealth.Transition tr : health.history()) {
        items.add(new Item(tr.at(), new JsonObject().put("at", tr.at().toString()).put("kind", "health")
            .put("backend", b.name()).put("url", b.url()).put("tenants", tenants)
            .put("healthy", tr.healthy()).put("reason", tr.reason())));
      }
    });
    for (Events.Event e : g.events().list()) {
      JsonObject j = new JsonObject().put("at", e.at().toString());
      if (e instanceof Events.Reload r) {
        j.put("kind", "reload").put("applied", r.applied()).put("config_version", r.version())
            .put("trigger", r.trigger()).put("errors", new JsonArray(r.errors()));
      } else if (e instanceof Events.Drain d) {
        j.put("kind", "drain").put("backend", d.backend()).put("url", d.url())
            .put("tenants", new JsonArray(d.tenants())).put("drained", d.drained());
      } else if (e instanceof Events.Certificate c) {
        j.put("kind", "certificate").put("names", new JsonArray(c.names())).put("issued", c.issued())
            .put("detail", c.detail());
      } else if (e instanceof Events.Rollout r) {
        j.put("kind", "rollout").put("tenant", r.tenant()).put("canary", r.canary()).put("action", r.action())
            .put("percent", r.percent()).put("detail", r.detail());
      }
      items.add(new Item(e.at(), j));
    }
    items.sort(Comparator.comparing(Item::at).reversed());
    JsonArray out = new JsonArray();
    items.stream().limit(100).forEach(i -> out.add(i.json()));
    return new JsonObject().put("events", out);
  }

  private record Use(String tenant, Backend backend) {
  }

  /** Each backend state once (a URL shared by tenants is one server), with who uses it. */
  private static Map<BackendHealth, List<Use>> distinctBackends(Snapshot s) {
    Map<BackendHealth, List<Use>> out = new IdentityHashMap<>();
    for (Tenant t : s.tenants()) {
      for (Backend b : t.pool().backends()) {
        out.computeIfAbsent(b.health(), k -> new ArrayList<>()).add(new Use(t.name(), b));
      }
    }
    return out;
  }
}
