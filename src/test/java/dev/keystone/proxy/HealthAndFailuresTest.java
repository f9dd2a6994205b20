package dev.keystone.proxy;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** Active and passive health, the fallback, the retry rule and the error status codes. */
class HealthAndFailuresTest {

  Vertx vertx;
  TestBackend a;
  TestBackend b;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    a = new TestBackend(vertx, "a");
    b = new TestBackend(vertx, "b");
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  private void startGateway(String extra, String urlA, String urlB) {
    gw = TestGateway.start(extra + """
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 200ms
            services:
              - { name: a, url: "%s", health: /health }
              - { name: b, url: "%s", health: /health }
        """.formatted(urlA, urlB));
  }

  private String tenantHealth() {
    return new JsonObject(gw.get("/health").body()).getJsonObject("tenants").getString("t");
  }

  @Test
  void healthTransitionsBothWays() {
    startGateway("", a.url(), b.url());
    Await.until("both healthy", () -> tenantHealth().equals("2/2 healthy"));
    a.healthStatus(503);
    Await.until("a unhealthy", () -> tenantHealth().equals("1/2 healthy"));
    for (int i = 0; i < 4; i++) {
      assertThat(gw.get("/t/x").body()).as("unhealthy a gets no traffic").startsWith("b ");
    }
    a.healthStatus(200);
    Await.until("a healthy again", () -> tenantHealth().equals("2/2 healthy"));
    assertThat(gw.get("/t/x").body() + gw.get("/t/x").body()).contains("a ").contains("b ");
    assertThat(gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health().history())
        .extracting(h -> h.healthy()).containsExactly(true, false, true);
  }

  @Test
  void withNoHealthyBackendTheFirstIsUsedAndTheHealthOutputSaysSo() {
    a.healthStatus(500);
    b.healthStatus(500);
    startGateway("", a.url(), b.url());
    Await.until("checked", () -> gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health().lastCheck() != null
        && gw.gateway().snapshot().tenants().get(0).pool().backends().get(1).health().lastCheck() != null);
    assertThat(gw.get("/t/x").body()).isEqualTo("a /x");
    assertThat(gw.get("/t/y").body()).isEqualTo("a /y");
    JsonObject health = new JsonObject(gw.get("/health").body());
    assertThat(health.getJsonObject("tenants").getString("t")).isEqualTo("0/2 healthy");
    assertThat(health.getJsonObject("fallback").getString("t")).isEqualTo("a");
  }

  @Test
  void aDeadBackendCostsNoRequestAndIsMarkedDownAtOnce() throws Exception {
    startGateway("timeouts: { connect: 1s }\n", a.url(), b.url());
    Await.until("both healthy", () -> tenantHealth().equals("2/2 healthy"));
    a.close(); // its port now refuses connections; the next check is up to 200 ms away
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> r = gw.get("/t/n" + i);
      assertThat(r.statusCode()).as("request " + i).isEqualTo(200);
      assertThat(r.body()).startsWith("b ");
    }
    assertThat(gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).healthy()).isFalse();
  }

  @Test
  void connectionRefusedEverywhereIs502() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    String dead = "http://127.0.0.1:" + closedPort;
    startGateway("", dead, dead + "/other");
    HttpResponse<String> r = gw.get("/t/x", "X-Request-ID", "r-502");
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.body()).isEqualTo("502 Bad Gateway (request id r-502)\n");
  }

  @Test
  void aBackendThatDoesNotAnswerInTimeIs504() {
    a.handler(req -> { }); // reads the request, never answers
    b.handler(req -> { });
    startGateway("timeouts: { response_header: 300ms }\n", a.url(), b.url());
    HttpResponse<String> r = gw.get("/t/slow");
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(r.body()).startsWith("504 Gateway Timeout (request id ");
    assertThat(a.requests() + b.requests()).as("a timed-out request is not retried").isEqualTo(1);
  }

  @Test
  void aBackendThatDropsTheConnectionIs502() {
    a.handler(req -> req.connection().close());
    b.handler(req -> req.connection().close());
    startGateway("", a.url(), b.url());
    HttpResponse<String> r = gw.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/t/x"))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("payload")));
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(a.requests() + b.requests()).as("a POST that may have been processed is not retried").isEqualTo(1);
  }
}
