package dev.keystone.proxy;

import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Traffic mirroring: a copy of the tenant's requests (all of them here) reaches its mirror
 * backend with the same method, path, headers and body and X-Keystone-Mirror: 1; the clients get
 * the real backend's answers whatever the mirror answers, or if it never answers; each copy is
 * counted by outcome.
 */
class MirrorTest {

  Vertx vertx;
  TestBackend main;
  TestBackend shadow;
  TestGateway gw;
  final List<String> mirrored = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    main = new TestBackend(vertx, "main");
    shadow = new TestBackend(vertx, "shadow");
    shadow.handler(req -> req.body().onSuccess(b -> {
      mirrored.add(req.method() + " " + req.uri() + " mirror=" + req.getHeader("X-Keystone-Mirror") + " id="
          + (req.getHeader("X-Request-ID") != null) + " body=" + b.toString());
      req.response().setStatusCode(500).end("the mirror's answer, never seen");
    }));
    gw = TestGateway.start("""
        timeouts: { response_header: 1s }
        tenants:
          - name: shop
            path_prefix: /shop/
            mirror: { backend: shadow, percent: 100 }
            services:
              - { name: main, url: "%s", health: /health }
              - { name: shadow, url: "%s", health: /health, standby: true }
        """.formatted(main.url(), shadow.url()));
    Await.until("both checked", () -> gw.gateway().snapshot().tenants().get(0).pool().healthyCount() == 2);
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  private String metrics() {
    return gw.admin("GET", "/metrics").body();
  }

  @Test
  void aCopyOfEachRequestReachesTheMirrorAndItsAnswerIsDropped() {
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> r = gw.get("/shop/item/" + i + "?q=" + i);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("main /item/" + i + "?q=" + i);
    }
    HttpResponse<String> post = gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/shop/orders"))
        .POST(HttpRequest.BodyPublishers.ofString("{\"n\":1}")));
    assertThat(post.body()).isEqualTo("main /orders");
    Await.until("six copies", () -> mirrored.size() == 6);
    assertThat(mirrored).contains("GET /item/3?q=3 mirror=1 id=true body=", "POST /orders mirror=1 id=true body={\"n\":1}");
    assertThat(main.requests()).isEqualTo(6); // standby: the mirror gets no round-robin turn
    Await.until("counted", () -> metrics().contains("keystone_mirror_requests_total{tenant=\"shop\",outcome=\"sent\"} 6"));
  }

  @Test
  void aMirrorThatNeverAnswersDelaysNothingAndCountsAsFailed() {
    shadow.handler(req -> mirrored.add("held " + req.uri())); // never answers
    for (int i = 0; i < 3; i++) {
      assertThat(gw.get("/shop/slow/" + i).body()).isEqualTo("main /slow/" + i);
    }
    Await.until("three copies failed after response_header",
        () -> metrics().contains("keystone_mirror_requests_total{tenant=\"shop\",outcome=\"failed\"} 3"));
    assertThat(mirrored).containsExactlyInAnyOrder("held /slow/0", "held /slow/1", "held /slow/2");
  }

  @Test
  void copiesThatHangNeverTakeTheConnectionsRealRequestsNeed() {
    // Attack s16b F3: the mirror was the backend that also serves the tenant (or a rollout's
    // canary); copies that hung held its whole pool, and real requests waited or got 503.
    main.handler(req -> {
      if (req.getHeader("X-Keystone-Mirror") == null) {
        req.response().end("real " + req.path());
      } // a copy: never answered
    });
    try (TestGateway same = TestGateway.start("""
        timeouts: { response_header: 30s, pool_wait: 2s }
        limits: { upstream_connections: 4 }
        tenants:
          - name: one
            path_prefix: /one/
            mirror: { backend: main, percent: 100 }
            services: [{ name: main, url: "%s", health: /health }]
        """.formatted(main.url()))) {
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = same.get("/one/r" + i);
        assertThat(r.statusCode()).as("request " + i + ": " + r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("real /r" + i);
      }
      Await.until("the copies past a quarter of the pool dropped", () -> same.admin("GET", "/metrics").body()
          .contains("keystone_mirror_requests_total{tenant=\"one\",outcome=\"dropped\"} 19"));
    }
  }

  @Test
  void theMirrorMustBeOneOfTheTenantsServices() {
    assertThatThrownBy(() -> new ConfigLoader().parse("""
        tenants:
          - name: a
            path_prefix: /a/
            mirror: { backend: nowhere, percent: 10 }
            services: [{ name: s, url: "http://127.0.0.1:1" }]
          - name: b
            path_prefix: /b/
            mirror: { backend: s, percent: 0 }
            services: [{ name: s, url: "http://127.0.0.1:1" }]
        """, "test.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("tenants[0].mirror.backend: must name one of the tenant's services")
        .hasMessageContaining("tenants[1].mirror.percent: must be between 1 and 100, got 0");
  }
}
