package dev.keystone.admin;

import dev.keystone.gateway.GatewayOptions;
import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The admin listener's JSON API, with real traffic through the gateway. */
class AdminApiTest {

  Vertx vertx;
  TestBackend blue;
  TestBackend green;
  TestBackend apiBlue;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    blue = new TestBackend(vertx, "blue");
    green = new TestBackend(vertx, "green");
    apiBlue = new TestBackend(vertx, "api-blue");
    for (TestBackend b : List.of(blue, green, apiBlue)) {
      b.handler(req -> req.body().onSuccess(x -> req.response().setStatusCode(req.path().startsWith("/fail") ? 500 : 200)
          .end(b.name() + " " + req.uri())));
    }
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  private String config(String extra) {
    return extra + """
        tenants:
          - name: shop
            path_prefix: /shop/
            health_interval: 200ms
            services:
              - { name: blue, url: "%s", health: /health, labels: { color: blue } }
              - { name: green, url: "%s", health: /health, weight: 2 }
          - name: api
            domains: [api.test]
            health_interval: 200ms
            services:
              - { name: blue, url: "%s", health: /health }
        """.formatted(blue.url(), green.url(), apiBlue.url());
  }

  private void startGateway() {
    gw = TestGateway.start(config(""));
    Await.until("all healthy", () -> json("/api/v1/status").getJsonObject("backends").getInteger("healthy") == 3);
  }

  private JsonObject json(String path) {
    HttpResponse<String> r = gw.admin("GET", path);
    assertThat(r.statusCode()).as(path).isEqualTo(200);
    return new JsonObject(r.body());
  }

  private JsonObject tenant(String name) {
    for (Object o : json("/api/v1/tenants").getJsonArray("tenants")) {
      if (((JsonObject) o).getString("name").equals(name)) {
        return (JsonObject) o;
      }
    }
    throw new AssertionError("no tenant " + name);
  }

  private static JsonObject backend(JsonObject tenant, String name) {
    for (Object o : tenant.getJsonArray("backends")) {
      if (((JsonObject) o).getString("name").equals(name)) {
        return (JsonObject) o;
      }
    }
    throw new AssertionError("no backend " + name);
  }

  private HttpResponse<String> adminAs(String authorization, String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gw.adminBase() + path)).GET();
    return authorization == null ? gw.send(b) : gw.send(b, "Authorization", authorization);
  }

  @Test
  void everyApiCallNeedsTheTokenButProbesAndThePageDoNot() {
    startGateway();
    for (String path : List.of("/api/v1/status", "/api/v1/tenants", "/api/v1/config", "/metrics", "/api/v1/nothing")) {
      HttpResponse<String> none = adminAs(null, path);
      assertThat(none.statusCode()).as(path).isEqualTo(401);
      assertThat(none.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
      assertThat(adminAs("Bearer wrong", path).statusCode()).isEqualTo(401);
      assertThat(adminAs("Bearer " + TestGateway.ADMIN_TOKEN + "x", path).statusCode()).isEqualTo(401);
      assertThat(adminAs("Basic " + TestGateway.ADMIN_TOKEN, path).statusCode()).isEqualTo(401);
    }
    assertThat(adminAs("Bearer " + TestGateway.ADMIN_TOKEN, "/api/v1/status").statusCode()).isEqualTo(200);
    assertThat(adminAs("bearer " + TestGateway.ADMIN_TOKEN, "/api/v1/status").statusCode()).isEqualTo(200);
    assertThat(gw.admin("GET", "/api/v1/nothing").statusCode()).isEqualTo(404);
    assertThat(gw.admin("POST", "/api/v1/status").statusCode()).isIn(404, 405);

    assertThat(adminAs(null, "/livez").body()).contains("ok");
    HttpResponse<String> ready = adminAs(null, "/readyz");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(ready.body()).getLong("config_version")).isEqualTo(1);
    HttpResponse<String> page = adminAs(null, "/dashboard/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
    assertThat(page.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(v -> assertThat(v).contains("default-src 'self'"));
    assertThat(page.headers().firstValue("Cache-Control")).hasValue("no-store");
    assertThat(adminAs(null, "/dashboard/../../etc/passwd").statusCode()).isEqualTo(404);
    assertThat(adminAs(null, "/dashboard/%2e%2e%2fconfig.yaml").statusCode()).isEqualTo(404);

    String metrics = gw.admin("GET", "/metrics").body();
    assertThat(metrics).contains("keystone_admin_auth_failures_total 20");
  }

  @Test
  void aClientThatKeepsGuessingIsTurnedAwayForAMinute() throws Exception {
    dev.keystone.testing.TestClock clock = new dev.keystone.testing.TestClock(java.time.Instant.parse("2026-11-30T10:00:00Z"));
    gw = TestGateway.start(config(""), java.util.Map.of(), new dev.keystone.gateway.GatewayOptions(2, "test", clock));
    for (int i = 0; i < AuthThrottle.LIMIT; i++) {
      assertThat(adminAs("Bearer guess-" + i, "/api/v1/status").statusCode()).isEqualTo(401);
    }
    HttpResponse<String> turnedAway = adminAs("Bearer " + TestGateway.ADMIN_TOKEN, "/api/v1/status");
    assertThat(turnedAway.statusCode()).as("even the right token, from that address").isEqualTo(429);
    assertThat(turnedAway.headers().firstValue("Retry-After")).hasValue("60");
    assertThat(fromOtherAddress("/api/v1/status")).as("another client address is not affected").startsWith("HTTP/1.1 200");
    assertThat(adminAs(null, "/readyz").statusCode()).as("probes need no token and are never throttled").isEqualTo(200);
    clock.advance(java.time.Duration.ofSeconds(61));
    assertThat(adminAs("Bearer " + TestGateway.ADMIN_TOKEN, "/api/v1/status").statusCode()).isEqualTo(200);
  }

  /** A request to the admin listener from 127.0.0.2 (another loopback address): its status line. */
  private String fromOtherAddress(String path) throws Exception {
    try (java.net.Socket s = new java.net.Socket()) {
      s.bind(new java.net.InetSocketAddress("127.0.0.2", 0));
      s.connect(new java.net.InetSocketAddress("127.0.0.1", gw.gateway().admin().port()), 5000);
      s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + TestGateway.ADMIN_TOKEN
          + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  @Test
  void theAdminApiIsNotOnTheProxyPort() {
    startGateway();
    assertThat(gw.gateway().admin().port()).isNotEqualTo(gw.port());
    HttpResponse<String> onProxy = gw.get("/api/v1/status", "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
    assertThat(onProxy.statusCode()).as("no tenant route: the proxy's 404").isEqualTo(404);
    assertThat(onProxy.body()).doesNotContain("config_version");
    assertThat(gw.get("/metrics").statusCode()).isEqualTo(404);
  }

  @Test
  void statusAndTenantsCountTheTrafficThatWasSent() {
    startGateway();
    for (int i = 0; i < 6; i++) {
      assertThat(gw.get("/shop/x").statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 2; i++) {
      assertThat(gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/shop/y")).POST(HttpRequest.BodyPublishers.ofString("b")))
          .statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 2; i++) {
      assertThat(gw.get("/shop/fail").statusCode()).isEqualTo(500);
    }
    for (int i = 0; i < 3; i++) {
      assertThat(gw.get("/x", "Host", "api.test").statusCode()).isEqualTo(200);
    }
    assertThat(gw.get("/nowhere").statusCode()).isEqualTo(404);

    Await.until("all 14 counted", () -> json("/api/v1/status").getJsonObject("requests").getLong("total") == 14);
    JsonObject status = json("/api/v1/status");
    assertThat(status.getString("version")).isEqualTo("test");
    assertThat(status.getJsonObject("requests").getLong("in_flight")).isZero();
    assertThat(status.getInteger("tenants")).isEqualTo(2);
    assertThat(status.getJsonObject("config").getLong("version")).isEqualTo(1);
    assertThat(status.getJsonObject("config").getString("source")).endsWith("config.yaml");
    assertThat(status.getString("listen")).endsWith(":" + gw.port());

    JsonObject shop = tenant("shop");
    JsonObject traffic = shop.getJsonObject("traffic");
    assertThat(traffic.getLong("requests")).isEqualTo(10);
    assertThat(traffic.getJsonObject("by_status").getLong("2xx")).isEqualTo(8);
    assertThat(traffic.getJsonObject("by_status").getLong("5xx")).isEqualTo(2);
    assertThat(traffic.getJsonObject("duration").getLong("count")).isEqualTo(10);
    JsonArray buckets = traffic.getJsonObject("duration").getJsonArray("buckets");
    assertThat(buckets.getJsonObject(buckets.size() - 1).getString("le")).isEqualTo("+Inf");
    assertThat(buckets.getJsonObject(buckets.size() - 1).getLong("count")).isEqualTo(10);
    long blueRequests = backend(shop, "blue").getLong("requests");
    long greenRequests = backend(shop, "green").getLong("requests");
    assertThat(blueRequests + greenRequests).isEqualTo(10);
    assertThat(blueRequests).as("weights 1:2").isBetween(2L, 5L);
    assertThat(backend(shop, "blue").getLong("errors") + backend(shop, "green").getLong("errors")).isEqualTo(2);
    assertThat(backend(shop, "blue").getJsonObject("upstream_duration").getLong("count")
        + backend(shop, "green").getJsonObject("upstream_duration").getLong("count")).as("each backend's own latency").isEqualTo(10);
    assertThat(backend(shop, "blue").getInteger("weight")).isEqualTo(1);
    assertThat(backend(shop, "green").getInteger("weight")).isEqualTo(2);
    assertThat(backend(shop, "blue").getJsonObject("labels").getString("color")).isEqualTo("blue");
    assertThat(backend(shop, "blue").getBoolean("healthy")).isTrue();
    assertThat(backend(shop, "blue").getString("last_reason")).contains("returned 200");
    assertThat(shop.getJsonObject("routes").getString("path_prefix")).isEqualTo("/shop/");
    assertThat(shop.getValue("script")).isNull();
    assertThat(tenant("api").getJsonObject("traffic").getLong("requests")).isEqualTo(3);
    assertThat(tenant("api").getJsonObject("routes").getJsonArray("domains")).containsExactly("api.test");
  }

  @Test
  void tenantsCanBeFilteredAndLimited() {
    startGateway();
    JsonObject all = json("/api/v1/tenants");
    assertThat(all.getInteger("total")).isEqualTo(2);
    assertThat(all.getInteger("matched")).isEqualTo(2);
    JsonObject byDomain = json("/api/v1/tenants?q=API.TE");
    assertThat(byDomain.getInteger("matched")).isEqualTo(1);
    assertThat(byDomain.getJsonArray("tenants").getJsonObject(0).getString("name")).isEqualTo("api");
    assertThat(json("/api/v1/tenants?q=/shop/").getJsonArray("tenants").getJsonObject(0).getString("name")).isEqualTo("shop");
    JsonObject limited = json("/api/v1/tenants?limit=1");
    assertThat(limited.getJsonArray("tenants")).hasSize(1);
    assertThat(limited.getInteger("matched")).isEqualTo(2);
    assertThat(json("/api/v1/tenants?q=nothing-like-this").getJsonArray("tenants")).isEmpty();
    assertThat(gw.admin("GET", "/api/v1/tenants?limit=-3").statusCode()).isEqualTo(400);
    assertThat(gw.admin("GET", "/api/v1/tenants?limit=lots").statusCode()).isEqualTo(400);
  }

  @Test
  void aDrainedBackendGetsNoNewRequestsUntilUndrainedAndStaysDrainedAcrossReloads() {
    startGateway();
    HttpResponse<String> drained = gw.admin("POST", "/api/v1/backends/blue/drain?tenant=shop");
    assertThat(drained.statusCode()).isEqualTo(200);
    JsonArray affected = new JsonObject(drained.body()).getJsonArray("affected");
    assertThat(affected).hasSize(1);
    assertThat(affected.getJsonObject(0).getString("tenant")).isEqualTo("shop");
    int before = blue.requests();
    for (int i = 0; i < 6; i++) {
      assertThat(gw.get("/shop/x").body()).startsWith("green ");
    }
    assertThat(blue.requests()).isEqualTo(before);
    assertThat(gw.get("/x", "Host", "api.test").body()).as("another tenant's blue is another server").startsWith("api-blue ");
    JsonObject b = backend(tenant("shop"), "blue");
    assertThat(b.getBoolean("drained")).isTrue();
    assertThat(b.getBoolean("healthy")).as("health checks go on").isTrue();
    assertThat(b.getBoolean("available")).isFalse();
    assertThat(json("/api/v1/status").getJsonObject("backends").getInteger("drained")).isEqualTo(1);

    assertThat(gw.admin("POST", "/api/v1/reload").statusCode()).isEqualTo(200);
    assertThat(backend(tenant("shop"), "blue").getBoolean("drained")).as("kept across a reload").isTrue();
    for (int i = 0; i < 3; i++) {
      assertThat(gw.get("/shop/x").body()).startsWith("green ");
    }

    assertThat(gw.admin("POST", "/api/v1/backends/blue/undrain?tenant=shop").statusCode()).isEqualTo(200);
    StringBuilder seen = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      seen.append(gw.get("/shop/x").body()).append('\n');
    }
    assertThat(seen.toString()).contains("blue ").contains("green ");

    HttpResponse<String> both = gw.admin("POST", "/api/v1/backends/blue/drain");
    assertThat(new JsonObject(both.body()).getJsonArray("affected")).as("no tenant: every backend of that name").hasSize(2);
    assertThat(gw.admin("POST", "/api/v1/backends/nobody/drain").statusCode()).isEqualTo(404);
    assertThat(gw.admin("POST", "/api/v1/backends/blue/drain?tenant=api2").statusCode()).isEqualTo(404);

    JsonArray events = json("/api/v1/events").getJsonArray("events");
    List<Object> drains = events.stream().filter(e -> ((JsonObject) e).getString("kind").equals("drain")).toList();
    assertThat(drains).hasSize(4); // shop drain, shop undrain, then shop + api drained (two URLs)
    assertThat(((JsonObject) drains.get(drains.size() - 1)).getBoolean("drained")).as("oldest last").isTrue();
    assertThat(((JsonObject) drains.get(drains.size() - 2)).getBoolean("drained")).isFalse();
  }

  @Test
  void drainingAServerSharedByTwoTenantsSaysSo() {
    gw = TestGateway.start(config("") + """
          - name: mirror
            path_prefix: /mirror/
            services:
              - { name: primary, url: "%s", health: /health }
        """.formatted(blue.url()));
    HttpResponse<String> r = gw.admin("POST", "/api/v1/backends/blue/drain?tenant=shop");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonArray affected = new JsonObject(r.body()).getJsonArray("affected");
    assertThat(affected.stream().map(a -> ((JsonObject) a).getString("tenant") + "/" + ((JsonObject) a).getString("backend")))
        .containsExactly("shop/blue", "mirror/primary");
    assertThat(backend(tenant("mirror"), "primary").getBoolean("drained")).isTrue();
    HttpResponse<String> mirror = gw.get("/mirror/x");
    assertThat(mirror.statusCode()).as("its only backend is drained: no fallback onto it").isEqualTo(503);
    assertThat(mirror.body()).contains("request id");
  }

  @Test
  void healthTransitionsAreListedWithTheirReasons() {
    startGateway();
    green.healthStatus(503);
    Await.until("green unhealthy", () -> !backend(tenant("shop"), "green").getBoolean("healthy"));
    green.healthStatus(200);
    Await.until("green healthy", () -> backend(tenant("shop"), "green").getBoolean("healthy"));
    JsonArray transitions = backend(tenant("shop"), "green").getJsonArray("transitions");
    assertThat(transitions.stream().map(t -> ((JsonObject) t).getBoolean("healthy")).toList()).containsExactly(true, false, true);
    assertThat(transitions.getJsonObject(1).getString("reason")).contains("returned 503");
    JsonArray events = json("/api/v1/events").getJsonArray("events");
    JsonObject latest = events.stream().map(e -> (JsonObject) e).filter(e -> e.getString("kind").equals("health"))
        .findFirst().orElseThrow();
    assertThat(latest.getString("backend")).isEqualTo("green");
    assertThat(latest.getBoolean("healthy")).isTrue();
    assertThat(latest.getJsonArray("tenants")).containsExactly("shop");
    assertThat(events.stream().map(e -> (JsonObject) e).anyMatch(e -> e.getString("kind").equals("reload")
        && e.getString("trigger").equals("startup"))).isTrue();
  }

  @Test
  void reloadValidatesAndAppliesOrListsEveryError() {
    startGateway();
    gw.rewrite(config("") + "    bogus_key: 1\n");
    HttpResponse<String> bad = gw.admin("POST", "/api/v1/reload");
    assertThat(bad.statusCode()).isEqualTo(422);
    JsonObject b = new JsonObject(bad.body());
    assertThat(b.getBoolean("applied")).isFalse();
    assertThat(b.getLong("config_version")).isEqualTo(1);
    assertThat(b.getJsonArray("errors").getString(0)).contains("config.yaml:").contains("bogus_key");
    assertThat(gw.get("/shop/x").statusCode()).as("still serving").isEqualTo(200);

    gw.rewrite(config("") + """
          - name: extra
            path_prefix: /extra/
            services:
              - { name: one, url: "%s" }
        """.formatted(green.url()));
    HttpResponse<String> good = gw.admin("POST", "/api/v1/reload");
    assertThat(good.statusCode()).isEqualTo(200);
    JsonObject g = new JsonObject(good.body());
    assertThat(g.getBoolean("applied")).isTrue();
    assertThat(g.getLong("config_version")).isGreaterThanOrEqualTo(2);
    assertThat(tenant("extra").getJsonArray("backends")).hasSize(1);
    JsonArray events = json("/api/v1/events").getJsonArray("events");
    List<JsonObject> apiReloads = events.stream().map(e -> (JsonObject) e)
        .filter(e -> e.getString("kind").equals("reload") && e.getString("trigger").equals("api")).toList();
    assertThat(apiReloads.get(0).getBoolean("applied")).isTrue();
    assertThat(apiReloads.get(apiReloads.size() - 1).getBoolean("applied")).isFalse();
    assertThat(apiReloads.get(apiReloads.size() - 1).getJsonArray("errors").getString(0)).contains("bogus_key");
  }

  @Test
  void theRunningConfigHasItsSecretsRedacted() {
    gw = TestGateway.start("""
        admin:
          listen: 127.0.0.1:0
          token: the-real-secret-token-42
        tenants:
          - name: shop
            path_prefix: /shop/
            services:
              - { name: blue, url: "http://127.0.0.1:%d/base" }
        """.formatted(blue.port()));
    HttpResponse<String> r = gw.send(HttpRequest.newBuilder(URI.create(gw.adminBase() + "/api/v1/config")).GET(),
        "Authorization", "Bearer the-real-secret-token-42");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).doesNotContain("the-real-secret-token-42");
    JsonObject c = new JsonObject(r.body());
    assertThat(c.getJsonObject("admin").getString("token")).isEqualTo("(redacted)");
    JsonObject service = c.getJsonArray("tenants").getJsonObject(0).getJsonArray("services").getJsonObject(0);
    assertThat(service.getString("url")).isEqualTo("http://127.0.0.1:" + blue.port() + "/base");
    assertThat(ConfigView.redactUrl("http://deploy:hunter2@engine:9000/")).isEqualTo("http://deploy:(redacted)@engine:9000/");
    assertThat(c.getJsonObject("timeouts").getString("connect")).isNotBlank();
    assertThat(c.getJsonArray("tenants").getJsonObject(0).getString("path_prefix")).isEqualTo("/shop/");
  }

  @Test
  void aReloadCanRotateTheToken() {
    gw = TestGateway.start(config("admin:\n  listen: 127.0.0.1:0\n  token: first-token-0123456789\n"));
    assertThat(adminAs("Bearer first-token-0123456789", "/api/v1/status").statusCode()).isEqualTo(200);
    gw.rewrite(config("admin:\n  listen: 127.0.0.1:0\n  token: second-token-0123456789\n"));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    assertThat(adminAs("Bearer first-token-0123456789", "/api/v1/status").statusCode()).isEqualTo(401);
    assertThat(adminAs("Bearer second-token-0123456789", "/api/v1/status").statusCode()).isEqualTo(200);
  }

  @Test
  void withoutATokenOneIsGeneratedIntoAFileOnlyTheUserCanRead() throws Exception {
    assertThat(System.getenv(AdminToken.ENV)).as("this test needs " + AdminToken.ENV + " unset").isNull();
    gw = TestGateway.start(config("admin:\n  listen: 127.0.0.1:0\n"));
    Path file = gw.gateway().admin().tokenFile();
    assertThat(file).isEqualTo(AdminToken.defaultFile(gw.gateway().admin().port()));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    String token = Files.readString(file).trim();
    assertThat(token).hasSizeGreaterThanOrEqualTo(32);
    assertThat(adminAs("Bearer " + token, "/api/v1/status").statusCode()).isEqualTo(200);
    assertThat(adminAs("Bearer " + TestGateway.ADMIN_TOKEN, "/api/v1/status").statusCode()).isEqualTo(401);
    gw.close();
    gw = null;
    assertThat(file).as("removed when the gateway stops").doesNotExist();
  }

  @Test
  void readinessFailsWhileAGracefulStopFinishesInFlightRequests() throws Exception {
    List<HttpServerRequest> held = new CopyOnWriteArrayList<>();
    green.handler(held::add);
    blue.handler(held::add);
    startGateway();
    CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> gw.get("/shop/slow"));
    Await.until("request held by the backend", () -> !held.isEmpty());
    var stopping = gw.gateway().shutdown();
    HttpResponse<String> ready = adminAs(null, "/readyz");
    assertThat(ready.statusCode()).isEqualTo(503);
    assertThat(ready.body()).contains("shutting down");
    assertThat(adminAs(null, "/livez").statusCode()).isEqualTo(200);
    HttpServerRequest req = held.get(0);
    req.response().end("finished");
    assertThat(slow.get().body()).isEqualTo("finished");
    Await.result(stopping);
    gw = null;
  }

  @Test
  void adminSettingsAreValidated() {
    assertThatThrownBy(() -> new ConfigLoader().parse("""
        listen: 127.0.0.1:8080
        admin:
          listen: 127.0.0.1:8080
          token: short
          tls: yes
        tenants:
          - name: a
            path_prefix: /a/
            services: [{ name: one, url: "http://127.0.0.1:1" }]
        """, "c.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("c.yaml:3: admin.listen")
        .hasMessageContaining("port of its own")
        .hasMessageContaining("c.yaml:4: admin.token")
        .hasMessageContaining("c.yaml:5: admin.tls");
  }

  @Test
  void aChosenAdminPortThatIsTakenStopsTheStart() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(() -> TestGateway.start(config("admin:\n  listen: 127.0.0.1:" + taken.getLocalPort() + "\n")))
          .hasMessageContaining("admin listener on 127.0.0.1:" + taken.getLocalPort());
    }
  }
}
