package dev.keystone.script;

import dev.keystone.gateway.GatewayOptions;
import dev.keystone.gateway.Gateway;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Every script in examples/scripts, run by examples/scripted.yaml through the gateway. */
class ExampleScriptsTest {

  static Vertx vertx;
  static TestBackend stable;
  static TestBackend canary;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    stable = new TestBackend(vertx, "stable");
    canary = new TestBackend(vertx, "canary");
    Random seeded = new Random(7);
    ScriptEnvironment env = new ScriptEnvironment(Clock.systemUTC(), seeded::nextDouble, ScriptLimits.DEFAULT,
        KeyValueStore.Limits.DEFAULT);
    gw = TestGateway.startFile(Path.of("examples/scripted.yaml"),
        Map.of("STABLE_URL", stable.url(), "CANARY_URL", canary.url()),
        new GatewayOptions(2, "test", Clock.systemUTC(), env));
    Await.until("backends healthy", () -> gw.get("/health").body().contains("\"sticky-ab\":\"2/2 healthy\""));
  }

  @AfterAll
  static void stop() {
    gw.close();
    vertx.close();
  }

  static String backendOf(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.body().split(" ")[0];
  }

  @Test
  void canaryByHeader() {
    assertThat(backendOf(gw.get("/canary/x", "X-Deploy-ID", "42"))).isEqualTo("canary");
    assertThat(backendOf(gw.get("/canary/x", "X-Deploy-ID", "41"))).isEqualTo("stable");
    assertThat(backendOf(gw.get("/canary/x"))).isEqualTo("stable");
  }

  @Test
  void canaryByPercentage() {
    int toCanary = 0;
    for (int i = 0; i < 400; i++) {
      if (backendOf(gw.get("/percent/x")).equals("canary")) {
        toCanary++;
      }
    }
    assertThat(toCanary).as("about 10% of 400").isBetween(15, 70);
  }

  @Test
  void blueGreenSwitchByFlag() {
    assertThat(backendOf(gw.get("/bluegreen/x"))).isEqualTo("stable"); // blue
    HttpResponse<String> denied = gw.send(HttpRequest.newBuilder().POST(HttpRequest.BodyPublishers.noBody())
        .uri(java.net.URI.create(gw.base() + "/bluegreen/_switch?to=green")));
    assertThat(denied.statusCode()).isEqualTo(403);
    HttpResponse<String> ok = gw.send(HttpRequest.newBuilder().POST(HttpRequest.BodyPublishers.noBody())
        .uri(java.net.URI.create(gw.base() + "/bluegreen/_switch?to=green")), "X-Operator-Token", "change-me");
    assertThat(ok.body()).isEqualTo("live: green\n");
    for (int i = 0; i < 4; i++) { // both event loops see the flag
      assertThat(backendOf(gw.get("/bluegreen/x"))).isEqualTo("canary"); // green
    }
    gw.send(HttpRequest.newBuilder().POST(HttpRequest.BodyPublishers.noBody())
        .uri(java.net.URI.create(gw.base() + "/bluegreen/_switch?to=blue")), "X-Operator-Token", "change-me");
    assertThat(backendOf(gw.get("/bluegreen/x"))).isEqualTo("stable");
  }

  @Test
  void stickyAbByCookie() {
    int b = 0;
    for (int user = 0; user < 200; user++) {
      String cookie = "theme=dark; ab_user=u" + user;
      String first = backendOf(gw.get("/ab/x", "Cookie", cookie));
      for (int again = 0; again < 3; again++) {
        assertThat(backendOf(gw.get("/ab/x", "Cookie", cookie))).as("user %d stays", user).isEqualTo(first);
      }
      if (first.equals("canary")) {
        b++;
        assertThat(canary.last().headers().get("X-Variant")).isEqualTo("b");
      }
    }
    assertThat(b).as("about half of 200 users").isBetween(70, 130);
  }

  @Test
  void maintenancePage() {
    HttpResponse<String> r = gw.get("/maint/x");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("We are doing some maintenance");
    assertThat(r.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(r.headers().firstValue("Retry-After")).hasValue("600");
    assertThat(backendOf(gw.get("/maint/x", "X-Maintenance-Bypass", "let-me-in"))).isEqualTo("stable");
  }

  @Test
  void apiKeyCheck() {
    assertThat(gw.get("/api/orders").statusCode()).isEqualTo(401);
    assertThat(gw.get("/api/orders", "X-API-Key", "nope").statusCode()).isEqualTo(401);
    assertThat(backendOf(gw.get("/api/orders", "X-API-Key", "k-51d2e8"))).isEqualTo("stable");
    assertThat(stable.last().headers().get("X-Client")).isEqualTo("globex");
    assertThat(stable.last().headers().contains("X-API-Key")).isFalse();
  }
}
