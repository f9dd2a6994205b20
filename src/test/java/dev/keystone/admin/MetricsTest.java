package dev.keystone.admin;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** /metrics in Prometheus text format: counts match the traffic sent, labels stay bounded. */
class MetricsTest {

  private static final Pattern SAMPLE = Pattern.compile(
      "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*})? (-?[0-9.eE+-]+|\\+Inf|NaN)");

  Vertx vertx;
  TestBackend one;
  TestBackend two;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    one = new TestBackend(vertx, "one");
    two = new TestBackend(vertx, "two");
    one.handler(req -> req.body().onSuccess(x -> req.response().setStatusCode(req.path().startsWith("/fail") ? 503 : 200).end("one")));
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  /** Series (name plus labels, as written) to value; also checks the format of every line. */
  private Map<String, Double> scrape() {
    String text = gw.admin("GET", "/metrics").body();
    Map<String, Double> out = new LinkedHashMap<>();
    Set<String> typed = new HashSet<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] p = line.split(" ");
        assertThat(p[3]).isIn("counter", "gauge", "histogram");
        assertThat(typed.add(p[2])).as("one TYPE per family: " + p[2]).isTrue();
        continue;
      }
      if (line.startsWith("# HELP ")) {
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      assertThat(m.matches()).as("a valid sample line: " + line).isTrue();
      String family = m.group(1).replaceAll("_(bucket|sum|count)$", "");
      assertThat(typed).as("TYPE before samples of " + m.group(1)).containsAnyOf(m.group(1), family);
      assertThat(out.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3).replace("+Inf", "Infinity"))))
          .as("each series once: " + line).isNull();
    }
    return out;
  }

  private double value(Map<String, Double> m, String series) {
    assertThat(m).as(series).containsKey(series);
    return m.get(series);
  }

  private void startGateway(String extraTenants) {
    gw = TestGateway.start("""
        tenants:
          - name: shop
            path_prefix: /shop/
            health_interval: 200ms
            services:
              - { name: one, url: "%s", health: /health }
        """.formatted(one.url()) + extraTenants, Map.of(
            "pick", """
                function on_request(req)
                  if req.headers["x-fail"] then error("asked to fail") end
                  if req.headers["x-loop"] then while true do end end
                end
                """));
    Await.until("healthy", () -> gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).healthy());
  }

  @Test
  void requestCountsAndHistogramsMatchTheTrafficSent() {
    startGateway("");
    for (int i = 0; i < 5; i++) {
      assertThat(gw.get("/shop/a").statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 2; i++) {
      assertThat(gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/shop/p")).POST(HttpRequest.BodyPublishers.ofString("x")))
          .statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 2; i++) {
      assertThat(gw.get("/shop/fail").statusCode()).isEqualTo(503);
    }
    assertThat(gw.get("/elsewhere").statusCode()).isEqualTo(404);
    assertThat(gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/shop/a")).method("PROPFIND", HttpRequest.BodyPublishers.noBody()))
        .statusCode()).isEqualTo(200);

    Await.until("all counted", () -> scrape().getOrDefault("keystone_request_duration_seconds_count{tenant=\"shop\"}", 0.0) == 10);
    Map<String, Double> m = scrape();
    assertThat(value(m, "keystone_requests_total{tenant=\"shop\",backend=\"one\",method=\"GET\",code=\"2xx\"}")).isEqualTo(5);
    assertThat(value(m, "keystone_requests_total{tenant=\"shop\",backend=\"one\",method=\"POST\",code=\"2xx\"}")).isEqualTo(2);
    assertThat(value(m, "keystone_requests_total{tenant=\"shop\",backend=\"one\",method=\"GET\",code=\"5xx\"}")).isEqualTo(2);
    assertThat(value(m, "keystone_requests_total{tenant=\"shop\",backend=\"one\",method=\"other\",code=\"2xx\"}")).isEqualTo(1);
    assertThat(value(m, "keystone_requests_total{tenant=\"\",backend=\"\",method=\"GET\",code=\"4xx\"}")).isEqualTo(1);
    assertThat(value(m, "keystone_request_duration_seconds_bucket{tenant=\"shop\",le=\"+Inf\"}")).isEqualTo(10);
    assertThat(value(m, "keystone_request_duration_seconds_sum{tenant=\"shop\"}")).isGreaterThan(0);
    assertThat(value(m, "keystone_upstream_duration_seconds_count{tenant=\"shop\",backend=\"one\"}")).isEqualTo(10);
    double previous = 0;
    for (double le : dev.keystone.metrics.Histogram.BOUNDS) {
      String key = "keystone_request_duration_seconds_bucket{tenant=\"shop\",le=\"" + new java.math.BigDecimal(Double.toString(le)).stripTrailingZeros().toPlainString() + "\"}";
      double v = value(m, key);
      assertThat(v).as("cumulative buckets").isGreaterThanOrEqualTo(previous);
      previous = v;
    }
    Await.until("nothing in flight", () -> scrape().get("keystone_requests_in_flight") == 0);
    assertThat(value(m, "keystone_build_info{version=\"test\"}")).isEqualTo(1);
    assertThat(value(m, "keystone_backend_up{tenant=\"shop\",backend=\"one\"}")).isEqualTo(1);
    assertThat(value(m, "keystone_backend_drained{tenant=\"shop\",backend=\"one\"}")).isZero();
    assertThat(value(m, "keystone_health_checks_total{url=\"" + one.url() + "\",result=\"success\"}")).isGreaterThanOrEqualTo(1);
    assertThat(value(m, "jvm_memory_used_bytes{area=\"heap\"}")).isGreaterThan(0);
    assertThat(m.keySet()).anyMatch(k -> k.startsWith("jvm_gc_collections_total{gc="));
    assertThat(value(m, "keystone_tenants")).isEqualTo(1);
  }

  @Test
  void labelsComeFromTheConfigNeverFromRequests() {
    startGateway("");
    for (int i = 0; i < 40; i++) {
      gw.get("/shop/user/" + i + "?q=" + i, "Host", "h" + i + ".example");
      gw.get("/random-" + i);
    }
    Await.until("all counted", () -> scrape().getOrDefault("keystone_request_duration_seconds_count{tenant=\"shop\"}", 0.0) == 40);
    Map<String, Double> m = scrape();
    assertThat(String.join("\n", m.keySet())).doesNotContain("user/").doesNotContain("random-").doesNotContain("example");
    assertThat(m.keySet().stream().filter(k -> k.startsWith("keystone_requests_total{")).count()).isEqualTo(2);
  }

  @Test
  void healthReloadsScriptsAndRetriesAreCounted() {
    startGateway("""
          - name: scripted
            path_prefix: /s/
            lua_script: pick
            services:
              - { name: one, url: "%s" }
          - name: pair
            path_prefix: /pair/
            services:
              - { name: two, url: "%s" }
              - { name: one, url: "%s" }
        """.formatted(one.url(), two.url(), one.url()));
    Await.until("pair healthy", () -> gw.gateway().snapshot().tenants().get(2).pool().healthyCount() == 2);
    assertThat(gw.get("/s/x").statusCode()).isEqualTo(200);
    assertThat(gw.get("/s/x", "X-Fail", "1").statusCode()).isEqualTo(500);
    assertThat(gw.get("/s/x", "X-Loop", "1").statusCode()).isEqualTo(500);
    two.close(); // its port now refuses connections: the request is retried on "one"
    assertThat(gw.get("/pair/x").body() + gw.get("/pair/x").body()).isEqualTo("oneone");

    Await.until("counted", () -> scrape().getOrDefault("keystone_request_duration_seconds_count{tenant=\"pair\"}", 0.0) == 2);
    Map<String, Double> m = scrape();
    assertThat(value(m, "keystone_script_runs_total{tenant=\"scripted\"}")).isEqualTo(3);
    assertThat(value(m, "keystone_script_errors_total{tenant=\"scripted\"}")).isEqualTo(2);
    assertThat(value(m, "keystone_script_limit_hits_total{tenant=\"scripted\"}")).isEqualTo(1);
    assertThat(value(m, "keystone_script_duration_seconds_count{tenant=\"scripted\"}")).isEqualTo(3);
    assertThat(value(m, "keystone_script_duration_seconds_sum{tenant=\"scripted\"}")).as("the loop ran to its deadline")
        .isGreaterThan(0.001);
    assertThat(m.keySet()).noneMatch(k -> k.startsWith("keystone_script_duration_seconds_count{tenant=\"shop\"}"));
    assertThat(value(m, "keystone_upstream_retries_total{tenant=\"pair\"}")).isEqualTo(1);
    assertThat(value(m, "keystone_backend_ejected{tenant=\"pair\",backend=\"two\"}")).as("ejected by the failed connect")
        .isEqualTo(1);
    assertThat(value(m, "keystone_backend_failures_total{tenant=\"pair\",backend=\"two\"}")).isEqualTo(1);

    one.healthStatus(500);
    Await.until("down", () -> scrape().get("keystone_backend_up{tenant=\"shop\",backend=\"one\"}") == 0);
    assertThat(value(scrape(), "keystone_health_checks_total{url=\"" + one.url() + "\",result=\"failure\"}")).isGreaterThanOrEqualTo(1);

    assertThat(value(m, "keystone_config_version")).isEqualTo(1);
    assertThat(gw.admin("POST", "/api/v1/reload").statusCode()).isEqualTo(200);
    gw.rewrite("tenants: [}\n");
    assertThat(gw.admin("POST", "/api/v1/reload").statusCode()).isEqualTo(422);
    m = scrape();
    assertThat(value(m, "keystone_config_reloads_total{result=\"success\"}")).isGreaterThanOrEqualTo(1);
    assertThat(value(m, "keystone_config_reloads_total{result=\"failure\"}")).isGreaterThanOrEqualTo(1);
    assertThat(value(m, "keystone_config_version")).isGreaterThanOrEqualTo(2);
  }

  @Test
  void everyMetricServedIsDocumentedAndEveryDocumentedOneIsServed() throws Exception {
    startGateway("");
    gw.get("/shop/x");
    Await.until("counted", () -> scrape().containsKey("keystone_request_duration_seconds_count{tenant=\"shop\"}"));
    Set<String> served = new java.util.TreeSet<>();
    for (String line : gw.admin("GET", "/metrics").body().split("\n")) {
      if (line.startsWith("# TYPE ")) {
        served.add(line.split(" ")[2]);
      }
    }
    String doc = java.nio.file.Files.readString(java.nio.file.Path.of("docs/observability.md"));
    Set<String> documented = new java.util.TreeSet<>();
    Matcher m = Pattern.compile("^\\| `((?:keystone|jvm)_[a-z_]+)` \\|", Pattern.MULTILINE).matcher(doc);
    while (m.find()) {
      documented.add(m.group(1));
    }
    assertThat(documented).containsAll(served);
    documented.remove("keystone_engine_restarts_total"); // only with a supervised engine
    documented.remove("keystone_isolated_engine_restarts_total"); // only with isolation: process (ProcessIsolationTest)
    documented.remove("keystone_config_store_up"); // only in cluster mode (ClusterConfigTest)
    documented.remove("keystone_config_store_revision"); // only in cluster mode (ClusterConfigTest)
    documented.remove("keystone_state_store_up"); // only with state_store (ClusterRateLimitTest)
    assertThat(served).containsAll(documented);
  }

  @Test
  void aTenantRemovedByAReloadLeavesTheMetrics() {
    startGateway("""
          - name: gone
            path_prefix: /gone/
            services:
              - { name: one, url: "%s" }
        """.formatted(one.url()));
    assertThat(gw.get("/gone/x").statusCode()).isEqualTo(200);
    Await.until("counted", () -> scrape().containsKey("keystone_request_duration_seconds_count{tenant=\"gone\"}"));
    gw.rewrite("""
        tenants:
          - name: shop
            path_prefix: /shop/
            services:
              - { name: one, url: "%s", health: /health }
        """.formatted(one.url()));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    assertThat(String.join("\n", scrape().keySet())).doesNotContain("tenant=\"gone\"");
  }
}
