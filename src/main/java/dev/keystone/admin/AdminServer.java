package dev.keystone.admin;

import dev.keystone.config.AdminConfig;
import dev.keystone.model.DrainResult;

import dev.keystone.model.ReloadResult;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * The admin listener: a separate HTTP server (never the proxy's port) with the JSON API, the
 * Prometheus metrics and the dashboard. Everything under {@code /api/} and {@code /metrics} needs
 * the bearer token; the probes and the dashboard's static files do not (the page holds no data).
 * The routes are listed in {@link #routes}; docs/admin-api.md describes them.
 */
public final class AdminServer {

  private static final Logger LOG = Logger.getLogger("keystone.admin");

  private final GatewayControl gateway;
  private final AdminToken token;
  private final Dashboard dashboard = new Dashboard();
  private final AuthThrottle throttle;
  private HttpServer server;
  private Path tokenFile;

  private AdminServer(GatewayControl gateway, AdminToken token) {
    this.gateway = gateway;
    this.token = token;
    this.throttle = new AuthThrottle(gateway.clock());
  }

  /** Starts the admin listener of {@code gateway} at {@code config.listen()}. */
  public static Future<AdminServer> start(GatewayControl gateway, AdminConfig config) {
    AdminToken token = new AdminToken(() -> gateway.config().admin().token(), System::getenv);
    AdminServer a = new AdminServer(gateway, token);
    Router router = a.routes(Router.router(gateway.vertx()));
    a.server = gateway.vertx().createHttpServer(new HttpServerOptions()
            .setHost(config.listen().host())
            .setPort(config.listen().port())
            .setIdleTimeout(60))
        .requestHandler(router);
    return a.server.listen().map(s -> {
      a.tokenFile = token.publish(s.actualPort());
      LOG.info("admin API and dashboard on http://" + hostForUrl(config.listen().host()) + ":" + s.actualPort() + "/"
          + (a.tokenFile != null ? " (token in " + a.tokenFile + ")" : ""));
      return a;
    });
  }

  /**
   * Starts the admin listener of {@code gateway}, or completes with null when it is disabled or
   * cannot start. A port that cannot be bound fails the start only when the config chose it: the
   * default port being taken (a second gateway on the machine) costs the admin API, not the traffic.
   */
  public static Future<AdminServer> startFor(GatewayControl gateway, AdminConfig config) {
    if (!config.enabled()) {
      return Future.succeededFuture(null);
    }
    return start(gateway, config).recover(e -> {
      if (config.explicit()) {
        return Future.failedFuture(new java.io.IOException("admin listener on " + config.listen() + ": " + e.getMessage(), e));
      }
      LOG.warning("no admin API: cannot listen on " + config.listen() + " (" + e.getMessage()
          + "); set admin.listen to another address, or admin.enabled: false");
      return Future.succeededFuture(null);
    });
  }

  private Router routes(Router r) {
    r.route().handler(AdminServer::securityHeaders);
    r.get("/livez").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "ok")));
    r.get("/readyz").handler(this::ready);
    r.get("/").handler(ctx -> ctx.redirect("/dashboard/"));
    r.get("/dashboard").handler(ctx -> { // the router also matches "/dashboard/" here
      if (ctx.request().path().equals("/dashboard")) {
        ctx.redirect("/dashboard/");
      } else {
        ctx.next();
      }
    });
    r.get("/dashboard/*").handler(dashboard::serve);

    r.route("/api/*").handler(this::authenticate);
    r.route("/metrics").handler(this::authenticate);
    r.get("/metrics").handler(ctx -> offLoop(ctx, () -> PrometheusText.render(gateway), "text/plain; version=0.0.4; charset=utf-8"));
    r.get("/api/v1/status").handler(ctx -> offLoop(ctx, () -> AdminViews.status(gateway).encode(), JSON));
    r.get("/api/v1/tenants").handler(this::tenants);
    r.get("/api/v1/events").handler(ctx -> offLoop(ctx, () -> AdminViews.events(gateway).encode(), JSON));
    r.get("/api/v1/certificates").handler(ctx -> offLoop(ctx, () -> AdminViews.certificates(gateway).encode(), JSON));
    r.get("/api/v1/config").handler(ctx -> offLoop(ctx, () -> ConfigView.of(gateway.config()).encode(), JSON));
    r.get("/api/v1/cluster").handler(this::cluster);
    r.post("/api/v1/reload").handler(this::reload);
    r.post("/api/v1/certificates/:tenant/renew").handler(this::renewCertificate);
    r.post("/api/v1/backends/:name/drain").handler(ctx -> drain(ctx, true));
    r.post("/api/v1/backends/:name/undrain").handler(ctx -> drain(ctx, false));
    new RolloutEndpoints(gateway).routes(r);
    new KeyEndpoints(gateway).routes(r);
    r.route("/api/*").handler(ctx -> error(ctx, 404, "no such endpoint: " + ctx.request().method() + " " + ctx.request().path()));
    r.route().last().handler(ctx -> error(ctx, 404, "not found"));
    r.errorHandler(405, ctx -> error(ctx, 405, "method not allowed"));
    // A body the router could not take (a form with a bad %-escape, JSON nested beyond its limit,
    // one above a route's size limit) is answered in JSON like every other refusal (attack s16b
    // nit: a plain-text "Bad Request").
    r.errorHandler(400, ctx -> error(ctx, 400, "the request could not be read: " + (ctx.failure() == null
        ? "malformed" : ctx.failure().getMessage())));
    r.errorHandler(413, ctx -> error(ctx, 413, "the request body is too large"));
    r.errorHandler(500, ctx -> error(ctx, 500, "internal error: " + ctx.failure()));
    return r;
  }

  private static void securityHeaders(RoutingContext ctx) {
    ctx.response().headers()
        .set("Cache-Control", "no-store")
        .set("X-Content-Type-Options", "nosniff")
        .set("X-Frame-Options", "DENY")
        .set("Referrer-Policy", "no-referrer")
        .set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    ctx.next();
  }

  private void authenticate(RoutingContext ctx) {
    String client = ctx.request().remoteAddress() == null ? "?" : ctx.request().remoteAddress().hostAddress();
    long wait = throttle.blockedFor(client);
    if (wait > 0) {
      gateway.metrics().authFailed();
      ctx.response().putHeader("Retry-After", Long.toString(wait));
      error(ctx, 429, "too many refused tokens from " + client + ": try again in " + wait + " s");
      return;
    }
    if (token.accepts(ctx.request().getHeader("Authorization"))) {
      throttle.succeeded(client);
      ctx.next();
      return;
    }
    throttle.failed(client);
    gateway.metrics().authFailed();
    ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"keystone-admin\"");
    error(ctx, 401, ctx.request().getHeader("Authorization") == null
        ? "missing Authorization: Bearer <admin token>" : "the admin token was refused");
  }

  private void tenants(RoutingContext ctx) {
    String limit = ctx.queryParams().get("limit");
    int n;
    try {
      n = limit == null ? Integer.MAX_VALUE : Integer.parseInt(limit);
    } catch (NumberFormatException e) {
      n = -1;
    }
    if (n < 0) {
      error(ctx, 400, "limit must be a whole number >= 0, got '" + limit + "'");
      return;
    }
    int max = n;
    String q = ctx.queryParams().get("q");
    offLoop(ctx, () -> AdminViews.tenants(gateway, q, max).encode(), JSON);
  }

  private void ready(RoutingContext ctx) {
    if (gateway.stopping()) {
      json(ctx, 503, new JsonObject().put("status", "shutting down"));
    } else if (!gateway.listening()) {
      json(ctx, 503, new JsonObject().put("status", "starting")); // the admin listener may be up first
    } else {
      // An unreachable config store leaves the gateway ready: it serves its last valid config,
      // and taking every instance out of the load balancer when etcd fails would be the outage.
      JsonObject ready = new JsonObject().put("status", "ready").put("config_version", gateway.snapshot().version());
      dev.keystone.model.StoreStatus store = gateway.configStore();
      if (store != null) {
        ready.put("config_store", AdminViews.store(store));
      }
      json(ctx, 200, ready);
    }
  }

  /** Cluster mode: the store, this instance's standing with it, and every registered instance. */
  private void cluster(RoutingContext ctx) {
    dev.keystone.model.StoreStatus store = gateway.configStore();
    io.vertx.core.Future<java.util.List<JsonObject>> instances = gateway.clusterInstances();
    if (store == null || instances == null) {
      error(ctx, 404, "this gateway runs on a config file, not in a cluster (see docs/cluster.md)");
      return;
    }
    instances.onComplete(ar -> {
      JsonObject body = new JsonObject().put("config_store", AdminViews.store(store));
      if (ar.failed()) {
        json(ctx, 503, body.put("error", "the config store did not answer: " + ar.cause().getMessage()));
      } else {
        json(ctx, 200, body.put("instances", new JsonArray(new java.util.ArrayList<Object>(ar.result()))));
      }
    });
  }

  private void reload(RoutingContext ctx) {
    // Reading and validating a file is blocking work: keep it off the event loop.
    gateway.vertx().executeBlocking(() -> gateway.reloadFromFile("api"), false).onComplete(ar -> {
      if (ar.failed()) {
        error(ctx, 500, "reload failed: " + ar.cause());
        return;
      }
      ReloadResult r = ar.result();
      json(ctx, r.applied() ? 200 : 422, new JsonObject().put("applied", r.applied())
          .put("config_version", r.version()).put("errors", new JsonArray(r.errors())));
    });
  }

  /** Orders a tenant's certificate now ({@code ?revoke=true}: revoked first); 202 once queued. */
  private void renewCertificate(RoutingContext ctx) {
    String tenant = ctx.pathParam("tenant");
    boolean revoke = "true".equals(ctx.queryParams().get("revoke"));
    GatewayControl.CertificateRequest r = gateway.replaceCertificate(tenant, revoke);
    if (!r.tenantFound()) {
      error(ctx, 404, r.refusal());
    } else if (r.refusal() != null) {
      error(ctx, 409, r.refusal());
    } else {
      json(ctx, 202, new JsonObject().put("tenant", tenant).put("revoke", revoke).put("status", "ordering"));
    }
  }

  private void drain(RoutingContext ctx, boolean on) {
    String name = ctx.pathParam("name");
    String tenant = ctx.queryParams().get("tenant");
    DrainResult d = gateway.drain(name, tenant, on);
    if (d.matches().isEmpty()) {
      error(ctx, 404, "no backend named '" + name + "'" + (tenant == null ? "" : " in tenant '" + tenant + "'"));
      return;
    }
    JsonArray affected = new JsonArray();
    d.matches().forEach(m -> affected.add(new JsonObject().put("tenant", m.tenant()).put("backend", m.backend()).put("url", m.url())));
    JsonObject body = new JsonObject().put("backend", d.backend()).put("drained", d.drained()).put("affected", affected);
    io.vertx.core.Future<Long> stored = gateway.publishDrain(name, tenant, on);
    if (stored == null) {
      json(ctx, 200, body);
      return;
    }
    // cluster mode: drains are the cluster's. Applied here at once; every other instance applies
    // it from the store. A store that does not answer is an error the operator must see: the
    // other instances were not told (retrying is safe).
    stored.onComplete(ar -> {
      if (ar.succeeded()) {
        json(ctx, 200, body.put("cluster", new JsonObject().put("stored", true).put("revision", ar.result())));
      } else {
        json(ctx, 503, body.put("cluster", new JsonObject().put("stored", false)).put("error",
            (on ? "drained" : "undrained") + " on this instance only: the config store did not answer ("
                + ar.cause().getMessage() + "); the other instances were not told: try again"));
      }
    });
  }

  private static final String JSON = "application/json";

  /**
   * Builds a document on a worker thread: the admin listener shares its event loop with tenant
   * traffic, and with 10,000 tenants /api/v1/tenants is 10 MB that takes over a second to build.
   * What it reads is safe to read from any thread (snapshots, adders, volatile health).
   */
  private void offLoop(RoutingContext ctx, java.util.concurrent.Callable<String> render, String type) {
    gateway.vertx().executeBlocking(render, false).onComplete(ar -> {
      if (ar.failed()) {
        error(ctx, 500, "internal error: " + ar.cause());
      } else {
        ctx.response().putHeader("Content-Type", type).end(ar.result());
      }
    });
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    HttpServerResponse resp = ctx.response();
    resp.setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
  }

  private static void error(RoutingContext ctx, int status, String message) {
    json(ctx, status, new JsonObject().put("error", message));
  }

  private static String hostForUrl(String host) {
    return host.equals("0.0.0.0") ? "localhost" : host.contains(":") ? "[" + host + "]" : host;
  }

  /** The port actually bound. */
  public int port() {
    return server.actualPort();
  }

  /** Whether an Authorization header value carries the admin token (constant time). */
  public boolean accepts(String authorization) {
    return token.accepts(authorization);
  }

  /** The file holding the generated token, or null when the token came from the config or environment. */
  public Path tokenFile() {
    return tokenFile;
  }

  /** Stops listening and removes a generated token's file. */
  public Future<Void> close() {
    token.unpublish();
    return server.close();
  }
}
