package dev.keystone.proxy;

import dev.keystone.gateway.GatewayOptions;
import dev.keystone.gateway.Gateway;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestClock;
import dev.keystone.testing.TestGateway;
import dev.keystone.model.Backend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Passive health (outlier detection): backends that keep failing real requests are taken out for
 * a while, and come back when that while is over or an active check passes, without waiting for
 * the active check's next turn.
 */
class PassiveHealthTest {

  Vertx vertx;
  TestBackend a;
  TestBackend b;
  TestGateway gw;
  TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  volatile int aStatus = 503;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    a = new TestBackend(vertx, "a").handler(req -> req.response().setStatusCode(aStatus).end("a " + aStatus));
    b = new TestBackend(vertx, "b");
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  private void gateway(String passive, String extra) {
    gw = TestGateway.start(extra + passive + """
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services:
              - { name: a, url: "%s", health: /health }
              - { name: b, url: "%s", health: /health }
        """.formatted(a.url(), b.url()), Map.of(), new GatewayOptions(2, "test", clock));
    Await.until("both checked", () -> backend(0).healthy() && backend(1).healthy());
  }

  private Backend backend(int i) {
    return gw.gateway().snapshot().tenants().get(0).pool().backends().get(i);
  }

  private int sendAndCount(int n, String answer) {
    int count = 0;
    for (int i = 0; i < n; i++) {
      if (gw.get("/t/r" + i).body().startsWith(answer)) {
        count++;
      }
    }
    return count;
  }

  @Test
  void consecutive5xxAnswersEjectABackendForTheEjectionTime() {
    gateway("passive_health: { consecutive_failures: 3, ejection: 30s }\n", "");
    int fromA = sendAndCount(6, "a 503");
    assertThat(fromA).as("round-robin: three 503s from a in six requests").isEqualTo(3);
    assertThat(backend(0).healthy()).as("ejected after three failures in a row").isFalse();
    assertThat(sendAndCount(10, "b ")).as("an ejected backend gets nothing").isEqualTo(10);

    JsonObject view = new JsonObject(gw.admin("GET", "/api/v1/tenants").body());
    JsonObject aView = view.getJsonArray("tenants").getJsonObject(0).getJsonArray("backends").getJsonObject(0);
    assertThat(aView.getBoolean("ejected")).isTrue();
    assertThat(aView.getString("ejected_until")).isEqualTo("2026-01-01T00:00:30Z");

    aStatus = 200;
    clock.advance(Duration.ofSeconds(31));
    assertThat(backend(0).healthy()).as("back after the ejection time, with no active check").isTrue();
    assertThat(sendAndCount(6, "a 200")).isEqualTo(3);
  }

  @Test
  void aSuccessInBetweenResetsTheCount() {
    gateway("passive_health: { consecutive_failures: 3, ejection: 30s }\n", "");
    sendAndCount(4, "a"); // a fails twice
    aStatus = 200;
    sendAndCount(2, "a"); // a succeeds once
    aStatus = 503;
    sendAndCount(4, "a"); // a fails twice more
    assertThat(backend(0).healthy()).as("never three in a row").isTrue();
  }

  @Test
  void repeatedEjectionsLastLonger() {
    gateway("passive_health: { consecutive_failures: 2, ejection: 10s }\n", "");
    sendAndCount(4, "a");
    assertThat(backend(0).health().ejectedUntil()).isEqualTo(Instant.parse("2026-01-01T00:00:10Z"));
    clock.advance(Duration.ofSeconds(11));
    sendAndCount(4, "a"); // still failing: ejected again, for twice as long
    assertThat(backend(0).health().ejectedUntil()).isEqualTo(Instant.parse("2026-01-01T00:00:31Z"));
  }

  @Test
  void timeoutsCountAsFailures() {
    a.handler(req -> { }); // never answers
    gateway("passive_health: { consecutive_failures: 2, ejection: 30s }\n", "timeouts: { response_header: 1s }\n"); // b's answers must come within it
    int timeouts = 0;
    for (int i = 0; i < 8; i++) {
      if (gw.get("/t/x" + i).statusCode() == 504) {
        timeouts++;
      }
    }
    assertThat(timeouts).as("two timeouts, then a is out").isEqualTo(2);
    assertThat(backend(0).healthy()).isFalse();
  }

  @Test
  void turnedOffWith0() {
    gateway("passive_health: { consecutive_failures: 0 }\n", "");
    assertThat(sendAndCount(20, "a 503")).isEqualTo(10);
    assertThat(backend(0).healthy()).isTrue();
  }

  @Test
  void aRefusedConnectionEjectsAtOnceAndTheBackendComesBackWithoutAnActiveCheck() throws Exception {
    gateway("passive_health: { ejection: 5s }\n", "");
    aStatus = 200;
    int port = a.port();
    a.close();
    assertThat(sendAndCount(4, "b ")).as("every request reaches b").isEqualTo(4);
    assertThat(backend(0).healthy()).isFalse();
    HttpServer again = vertx.createHttpServer().requestHandler(req -> req.response().end("a again"))
        .listen(port, "127.0.0.1").await();
    try {
      assertThat(sendAndCount(4, "b ")).as("still ejected").isEqualTo(4);
      clock.advance(Duration.ofSeconds(6));
      assertThat(sendAndCount(4, "a again")).as("back after 5 s though the next check is an hour away").isEqualTo(2);
    } finally {
      again.close();
    }
  }

  @Test
  void aPassingActiveCheckEndsAnEjectionForAFailedConnection() throws Exception {
    gateway("passive_health: { ejection: 5m }\n", "");
    aStatus = 200;
    int port = a.port();
    a.close();
    sendAndCount(4, "b ");
    assertThat(backend(0).healthy()).as("ejected by the refused connection").isFalse();
    HttpServer again = vertx.createHttpServer().requestHandler(req -> req.response().end("a again"))
        .listen(port, "127.0.0.1").await();
    try {
      gw.rewrite(readConfig().replace("health_interval: 1h", "health_interval: 100ms"));
      assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
      Await.until("the next passing check lets a back long before 5 minutes", () -> backend(0).healthy());
    } finally {
      again.close();
    }
  }

  @Test
  void anEjectionForFailedAnswersRunsItsTimeThoughTheHealthEndpointAnswers() {
    gateway("passive_health: { consecutive_failures: 2, ejection: 5m }\n", "");
    sendAndCount(4, "a");
    assertThat(backend(0).healthy()).isFalse();
    gw.rewrite(readConfig().replace("health_interval: 1h", "health_interval: 50ms"));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    long passed = backend(0).health().checksPassed();
    Await.until("three more passing checks", () -> backend(0).health().checksPassed() >= passed + 3);
    assertThat(backend(0).health().ejected()).as("its /health says 200, its requests said 503").isTrue();
    clock.advance(Duration.ofMinutes(5).plusSeconds(1));
    assertThat(backend(0).healthy()).isTrue();
  }

  private String readConfig() {
    try {
      return java.nio.file.Files.readString(gw.file());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
