package dev.keystone.rollout;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Canary rollouts through a real gateway: started over the admin API with a one-second interval,
 * judged on the traffic the test sends, a failing canary rolled back on its own, a good one
 * promoted, each step an event with its figures; refusals and actions answer as documented.
 */
class RolloutApiTest {

  Vertx vertx;
  TestBackend stable;
  TestBackend canary;
  TestGateway gw;
  final AtomicInteger canaryStatus = new AtomicInteger(200);

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    stable = new TestBackend(vertx, "stable");
    canary = new TestBackend(vertx, "canary");
    stable.handler(req -> req.response().end("stable"));
    // (its health checks pass whatever it answers traffic: the rollout is judged on the answers)
    canary.handler(req -> req.response().setStatusCode(req.path().equals("/health") ? 200 : canaryStatus.get()).end("canary"));
    // Passive health off: a failing canary is judged on its 5xx share here (an ejected one is
    // rolled back as unhealthy, RolloutsTest).
    gw = TestGateway.start("""
        passive_health: { consecutive_failures: 0 }
        tenants:
          - name: shop
            path_prefix: /shop/
            services:
              - { name: stable, url: "%s", health: /health }
              - { name: v2, url: "%s", health: /health }
        """.formatted(stable.url(), canary.url()));
    Await.until("both backends checked", () -> gw.gateway().snapshot().tenants().get(0).pool().healthyCount() == 2);
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  private HttpResponse<String> post(String path, String body) {
    return gw.send(HttpRequest.newBuilder(URI.create(gw.adminBase() + path))
        .POST(HttpRequest.BodyPublishers.ofString(body)), "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
  }

  private JsonObject rollout() {
    return new JsonObject(gw.admin("GET", "/api/v1/rollouts/shop").body());
  }

  /** Who answered {@code n} requests, by body. */
  private Map<String, Integer> traffic(int n) {
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < n; i++) {
      seen.merge(gw.get("/shop/x").body(), 1, Integer::sum);
    }
    return seen;
  }

  @Test
  void aCanaryThatFailsIsRolledBackAndItsTrafficReturnsToTheOthers() {
    canaryStatus.set(500);
    HttpResponse<String> started = post("/api/v1/rollouts/shop",
        "{\"canary\": \"v2\", \"steps\": \"50,100\", \"interval\": \"60s\", \"max_5xx\": \"1%\", \"min_requests\": 5}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(201);
    assertThat(new JsonObject(started.body()).getInteger("percent")).isEqualTo(50);
    Await.until("rolled back", Duration.ofSeconds(20), () -> {
      traffic(10);
      return rollout().getString("state").equals("rolled_back");
    });
    assertThat(rollout().getString("reason")).startsWith("5xx share 100.00% above the limit of 1.00%");
    assertThat(rollout().getInteger("percent")).isZero();
    assertThat(traffic(20)).containsExactly(Map.entry("stable", 20));
    String events = gw.admin("GET", "/api/v1/events").body();
    assertThat(events).contains("\"kind\":\"rollout\"").contains("\"action\":\"rolled back\"");
  }

  @Test
  void aGoodCanaryIsPromotedStepByStepAndThenTakesAllTraffic() {
    HttpResponse<String> started = post("/api/v1/rollouts/shop",
        "{\"canary\": \"v2\", \"steps\": [50, 100], \"interval\": \"1s\", \"max_p99\": \"2s\", \"min_requests\": 3}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(201);
    Await.until("promoted", Duration.ofSeconds(30), () -> {
      traffic(10);
      return rollout().getString("state").equals("promoted");
    });
    assertThat(traffic(20)).containsExactly(Map.entry("canary", 20));
    assertThat(gw.admin("GET", "/api/v1/events").body()).contains("\"action\":\"advanced\"").contains("\"action\":\"promoted\"");
  }

  @Test
  void refusalsAndActionsAnswerWithTheirStatus() {
    assertThat(post("/api/v1/rollouts/shop", "{\"canary\": \"nope\"}").statusCode()).isEqualTo(404);
    assertThat(post("/api/v1/rollouts/nobody", "{\"canary\": \"v2\"}").statusCode()).isEqualTo(404);
    HttpResponse<String> bad = post("/api/v1/rollouts/shop", "{\"canary\": \"v2\", \"max_5xx\": \"lots\"}");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(bad.body()).getString("error")).startsWith("max_5xx: a percentage");
    assertThat(post("/api/v1/rollouts/shop", "[1]").statusCode()).isEqualTo(400);
    HttpResponse<String> form = gw.send(HttpRequest.newBuilder(URI.create(gw.adminBase() + "/api/v1/rollouts/shop"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("{\"canary\":\"v2\",\"max_5xx\":\"1%\"}")),
        "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
    assertThat(form.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(form.body()).getString("error")).startsWith("the request could not be read");
    HttpResponse<String> huge = post("/api/v1/rollouts/shop", "{\"canary\": \"" + "v".repeat(20_000) + "\"}");
    assertThat(huge.statusCode()).isEqualTo(413);
    assertThat(new JsonObject(huge.body()).getString("error")).isEqualTo("the request body is too large");
    assertThat(gw.admin("GET", "/api/v1/rollouts/shop").statusCode()).isEqualTo(404);
    assertThat(post("/api/v1/rollouts/shop", "{\"canary\": \"v2\", \"interval\": \"1h\"}").statusCode()).isEqualTo(201);
    assertThat(post("/api/v1/rollouts/shop", "{\"canary\": \"v2\"}").statusCode()).isEqualTo(409);
    assertThat(post("/api/v1/rollouts/shop/pause", "").statusCode()).isEqualTo(200);
    assertThat(rollout().getString("state")).isEqualTo("paused");
    assertThat(post("/api/v1/rollouts/shop/pause", "").statusCode()).isEqualTo(409);
    assertThat(post("/api/v1/rollouts/shop/explode", "").statusCode()).isEqualTo(404);
    assertThat(gw.admin("DELETE", "/api/v1/rollouts/shop").statusCode()).isEqualTo(409); // live
    assertThat(post("/api/v1/rollouts/shop/abort", "").statusCode()).isEqualTo(200);
    assertThat(traffic(10)).containsExactly(Map.entry("stable", 10)); // aborted: the canary gets nothing
    assertThat(gw.admin("DELETE", "/api/v1/rollouts/shop").statusCode()).isEqualTo(200);
    assertThat(gw.admin("GET", "/api/v1/rollouts/shop").statusCode()).isEqualTo(404);
    assertThat(traffic(10)).isEqualTo(Map.of("stable", 5, "canary", 5)); // the pool as configured again
  }

  /** examples/ci/canary-rollout.sh as a CI job runs it, with traffic flowing meanwhile; its output and exit code. */
  private String[] ciScript(String... args) throws Exception {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("sh", "examples/ci/canary-rollout.sh"));
    cmd.addAll(java.util.List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("KEYSTONE_ADMIN_URL", gw.adminBase());
    pb.environment().put("KEYSTONE_ADMIN_TOKEN", TestGateway.ADMIN_TOKEN);
    pb.environment().put("POLL", "1");
    pb.environment().put("TIMEOUT", "60");
    Process p = pb.start();
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    Thread load = new Thread(() -> {
      while (!done.get()) {
        gw.get("/shop/x");
      }
    });
    load.start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertThat(p.waitFor(90, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      return new String[] {Integer.toString(p.exitValue()), out};
    } finally {
      done.set(true);
      load.join();
    }
  }

  @Test
  void theCiExamplePromotesAGoodCanaryAndFailsOnABadOne() throws Exception {
    String[] good = ciScript("shop", "v2", "50,100", "1s", "1%", "2s");
    assertThat(good[0]).as(good[1]).isEqualTo("0");
    assertThat(good[1]).startsWith("rollout of v2 in shop started: steps 50,100 every 1s\n")
        .endsWith("promoted: v2 takes all traffic\n");
    assertThat(gw.admin("DELETE", "/api/v1/rollouts/shop").statusCode()).isEqualTo(200);
    canaryStatus.set(503);
    String[] bad = ciScript("shop", "v2", "50,100", "1s");
    assertThat(bad[0]).as(bad[1]).isEqualTo("1");
    assertThat(bad[1]).contains("rolled_back: 5xx share 100.00% above the limit of 1.00%");
    String[] refused = ciScript("shop", "nope");
    assertThat(refused[0]).isEqualTo("1");
    assertThat(refused[1]).contains("rollout refused (404): tenant shop has no backend named 'nope'");
  }
}
