package dev.keystone.admin;

import dev.keystone.model.ReloadResult;
import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;
import dev.keystone.proxy.Exchange;
import dev.keystone.proxy.Interceptor;
import dev.keystone.proxy.RequestHead;
import dev.keystone.model.Backend;
import io.vertx.core.Vertx;
import io.netty.handler.codec.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * The original gateway's read-only endpoints on the proxy port, in the same JSON shape:
 * {@code <admin_base_path>/health} and {@code <admin_base_path>/tenants}. Hosts claimed by a
 * host-routed tenant keep their whole path space, so {@code app.example.com/admin/health} still
 * reaches that tenant's application.
 *
 * <p>{@code POST <admin_base_path>/reload} re-reads the config file. It is an operator's action,
 * so it needs the admin token whenever the admin listener runs: a loopback source address proves
 * nothing behind a local front proxy, where every client is loopback. Only without an admin
 * listener does the original rule (loopback clients only) apply.
 */
public final class CompatEndpoints implements Interceptor {

  private final String version;
  private final long startNanos;
  private final Supplier<ReloadResult> reloader;
  private final java.util.function.Function<String, Boolean> adminToken;

  /**
   * @param adminToken whether an Authorization header carries the admin token; null (the
   *                   function's answer) when no admin listener runs
   */
  public CompatEndpoints(String version, long startNanos, Supplier<ReloadResult> reloader,
                         java.util.function.Function<String, Boolean> adminToken) {
    this.version = version;
    this.startNanos = startNanos;
    this.reloader = reloader;
    this.adminToken = adminToken;
  }

  @Override
  public void handle(Exchange ex) {
    RequestHead req = ex.head();
    Snapshot snapshot = ex.snapshot();
    String base = snapshot.plan().adminBasePath();
    if (base.endsWith("/")) {
      base = base.substring(0, base.length() - 1);
    }
    String path = ex.path();
    if (!path.startsWith(base) || snapshot.routes().claimsHost(ex.host())) {
      ex.next();
      return;
    }
    String rest = path.substring(base.length());
    boolean read = req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD;
    if (rest.equals("/health") && read) {
      json(ex, 200, health(snapshot).encode());
    } else if (rest.equals("/tenants") && read) {
      json(ex, 200, tenants(snapshot).encode());
    } else if (rest.equals("/reload") && req.method() == HttpMethod.POST) {
      Boolean tokenOk = adminToken.apply(req.headers().get("Authorization"));
      if (tokenOk == null ? !isLoopback(req) : !tokenOk) {
        ex.response().headers().set("WWW-Authenticate", "Bearer realm=\"keystone-admin\"");
        json(ex, tokenOk == null ? 403 : 401, new JsonObject().put("applied", false).put("errors", new JsonArray()
            .add(tokenOk == null ? "reload is for loopback clients" : "reload needs Authorization: Bearer <admin token>"))
            .encode());
        return;
      }
      // Reading and validating a file is blocking work: keep it off the event loop.
      Vertx.currentContext().owner().executeBlocking(reloader::get, false).onComplete(ar -> {
        if (ar.failed()) {
          json(ex, 500, new JsonObject().put("applied", false)
              .put("errors", new JsonArray().add(String.valueOf(ar.cause()))).encode());
          return;
        }
        ReloadResult r = ar.result();
        JsonObject body = new JsonObject().put("applied", r.applied()).put("config_version", r.version())
            .put("errors", new JsonArray(r.errors()));
        json(ex, r.applied() ? 200 : 422, body.encode());
      });
    } else {
      ex.next();
    }
  }

  private static boolean isLoopback(RequestHead req) {
    String ip = req.clientAddress() == null ? "" : req.clientAddress();
    return ip.startsWith("127.") || ip.equals("0:0:0:0:0:0:0:1") || ip.equals("::1");
  }

  private static void json(Exchange ex, int status, String body) {
    ex.response().status(status);
    ex.response().headers().set("Content-Type", "application/json");
    ex.response().end(body + "\n");
  }

  /** {"status":"healthy","tenants":{"name":"1/2 healthy"},"uptime":"1m2.5s","version":"..."}. */
  JsonObject health(Snapshot snapshot) {
    JsonObject tenants = new JsonObject();
    JsonObject fallback = new JsonObject();
    for (Tenant t : snapshot.tenants()) {
      tenants.put(t.name(), t.pool().healthyCount() + "/" + t.pool().backends().size() + " healthy");
      if (t.pool().inFallback()) {
        fallback.put(t.name(), t.pool().backends().get(0).name());
      }
    }
    JsonObject out = new JsonObject()
        .put("status", "healthy")
        .put("tenants", tenants)
        .put("uptime", goDuration(Duration.ofNanos(System.nanoTime() - startNanos)))
        .put("version", version);
    // Extension: which tenants currently send everything to their first backend because none
    // is healthy (the original's silent fallback, made visible).
    out.put("fallback", fallback);
    return out;
  }

  /** The tenants as the original marshalled its config structs (Go field names). */
  static JsonArray tenants(Snapshot snapshot) {
    JsonArray out = new JsonArray();
    for (Tenant t : snapshot.tenants()) {
      Tenant c = t;
      JsonArray services = new JsonArray();
      for (Backend b : t.pool().backends()) {
        services.add(new JsonObject().put("Name", b.name()).put("URL", b.url()).put("Health", b.healthPath())
            .put("healthy", b.health().healthy()).put("weight", b.weight()).put("labels", new JsonObject(new java.util.HashMap<>(b.labels()))));
      }
      JsonObject o = new JsonObject()
          .put("Name", c.name())
          .put("PathPrefix", c.hasPathPrefix() ? c.pathPrefix() : "")
          .put("Domains", c.hasDomains() ? new JsonArray(c.domains()) : null)
          .put("Interval", c.rawHealthInterval())
          .put("Services", services);
      if (c.script() != null) {
        o.put("LuaScript", c.script().name());
      }
      out.add(o);
    }
    return out;
  }

  /** Formats like Go's time.Duration.String(): "1h2m3.5s", "42.1s", "150ms". */
  static String goDuration(Duration d) {
    long nanos = d.toNanos();
    if (nanos < 1_000_000_000L) {
      return trim(nanos / 1_000_000.0) + "ms";
    }
    long h = nanos / 3_600_000_000_000L;
    long m = (nanos / 60_000_000_000L) % 60;
    double s = (nanos % 60_000_000_000L) / 1e9;
    StringBuilder sb = new StringBuilder();
    if (h > 0) {
      sb.append(h).append('h');
    }
    if (h > 0 || m > 0) {
      sb.append(m).append('m');
    }
    return sb.append(trim(s)).append('s').toString();
  }

  private static String trim(double v) {
    String s = String.format(java.util.Locale.ROOT, "%.3f", v);
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }
}
