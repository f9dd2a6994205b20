package dev.keystone.proxy;

import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Requests through the real gateway to real backends: which backend, which path, which host. */
class RoutingProxyTest {

  static Vertx vertx;
  static TestBackend a, b, c, d;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    a = new TestBackend(vertx, "a");
    b = new TestBackend(vertx, "b");
    c = new TestBackend(vertx, "c");
    d = new TestBackend(vertx, "d");
    gw = TestGateway.start("""
        tenants:
          - name: paths
            path_prefix: /acme/
            services:
              - { name: a, url: "%1$s", health: /health }
              - { name: b, url: "%2$s", health: /health }
          - name: versioned
            path_prefix: /api/v1/
            services:
              - { name: c, url: "%3$s/v1?key=k", health: /health }
          - name: host
            domains: [app.example.com]
            services:
              - { name: c, url: "%3$s", health: /health }
          - name: hybrid
            domains: [app.example.com]
            path_prefix: /admin/
            services:
              - { name: d, url: "%4$s", health: /health }
          - name: wildcard
            domains: ["*.shop.test"]
            preserve_host: false
            services:
              - { name: d, url: "%4$s", health: /health }
          - name: nostrip
            path_prefix: /keep/
            strip_prefix: false
            services:
              - { name: d, url: "%4$s", health: /health }
          - name: scripted-only
            path_prefix: /empty/
            lua_script: maintenance
        """.formatted(a.url(), b.url(), c.url(), d.url()),
        // decides nothing: the tenant routes as usual, and it has no backend
        java.util.Map.of("maintenance", "function on_request(req) end"));
    // all backends healthy before the tests start
    dev.keystone.testing.Await.until("backends healthy",
        () -> gw.get("/health").body().contains("\"paths\":\"2/2 healthy\""));
  }

  @AfterAll
  static void stop() {
    gw.close();
    vertx.close();
  }

  @Test
  void pathPrefixIsStrippedAndRequestsRotate() {
    Set<String> bodies = new HashSet<>();
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = gw.get("/acme/products/42?color=red");
      assertThat(r.statusCode()).isEqualTo(200);
      bodies.add(r.body());
    }
    assertThat(bodies).containsExactlyInAnyOrder("a /products/42?color=red", "b /products/42?color=red");
  }

  @Test
  void prefixWithoutTrailingSlashAndEmptyRemainderBecomeRoot() {
    assertThat(gw.get("/acme").body()).endsWith(" /");
    assertThat(gw.get("/acme/").body()).endsWith(" /");
  }

  @Test
  void serviceUrlPathIsJoinedAndQueriesMerged() {
    assertThat(gw.get("/api/v1/users?page=2").body()).isEqualTo("c /v1/users?key=k&page=2");
    assertThat(gw.get("/api/v1/users").body()).isEqualTo("c /v1/users?key=k");
  }

  @Test
  void hostRoutingKeepsThePathAndPreservesHost() {
    HttpResponse<String> r = gw.get("/anything/here", "Host", "App.Example.com:8080");
    assertThat(r.body()).isEqualTo("c /anything/here");
    assertThat(c.last().headers().get("Host")).isEqualTo("App.Example.com:8080");
    assertThat(c.last().headers().get("X-Forwarded-Host")).isEqualTo("App.Example.com:8080");
  }

  @Test
  void hybridBeatsHostOnly() {
    assertThat(gw.get("/admin/users", "Host", "app.example.com").body()).isEqualTo("d /users");
  }

  @Test
  void wildcardDomainAndHostRewrite() {
    assertThat(gw.get("/p", "Host", "eu.shop.test").body()).isEqualTo("d /p");
    assertThat(d.last().headers().get("Host")).as("preserve_host: false").isEqualTo("127.0.0.1:" + d.port());
  }

  @Test
  void stripPrefixCanBeTurnedOff() {
    assertThat(gw.get("/keep/x").body()).isEqualTo("d /keep/x");
  }

  @Test
  void dotSegmentsCannotEscapeATenant() {
    assertThat(gw.get("/acme/../keep/x").body()).isEqualTo("d /keep/x");
    HttpResponse<String> r = gw.get("/acme/%2e%2e/%2e%2e/etc/passwd");
    assertThat(r.statusCode()).isEqualTo(400);
  }

  @Test
  void noRouteIs404WithTheRequestId() {
    HttpResponse<String> r = gw.get("/nowhere", "X-Request-ID", "trace-123");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).contains("request id trace-123");
    assertThat(r.headers().firstValue("X-Request-ID")).hasValue("trace-123");
  }

  @Test
  void aTenantWithoutBackendsIs503() {
    HttpResponse<String> r = gw.get("/empty/x");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).startsWith("503 Service Unavailable (request id ");
  }

  @Test
  void requestIdIsGeneratedAndSentBothWays() {
    HttpResponse<String> r = gw.get("/acme/id");
    String id = r.headers().firstValue("X-Request-ID").orElseThrow();
    assertThat(id).hasSize(32);
    TestBackend hit = r.body().startsWith("a") ? a : b;
    assertThat(hit.last().headers().get("X-Request-ID")).isEqualTo(id);
    HttpResponse<String> bad = gw.get("/acme/id", "X-Request-ID", "x".repeat(300));
    assertThat(bad.headers().firstValue("X-Request-ID").orElseThrow()).hasSize(32);
  }
}
