package dev.keystone.proxy;

import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.gateway.GatewayOptions;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestClock;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Local rate limits (issue 17): each algorithm's exact counts, the IETF draft's headers, 429 and Retry-After. */
class RateLimitTest {

  Vertx vertx;
  TestBackend backend;
  TestGateway gw;
  // 10 s into a minute: windows of 1m end 50 s from now
  final TestClock clock = new TestClock(Instant.parse("2026-12-07T10:00:10Z"));

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "b");
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  void start(String rules) {
    gw = TestGateway.start("""
        tenants:
          - name: api
            path_prefix: /api/
            rate_limits:
        %s
            services: [{ name: b, url: "%s" }]
        """.formatted(rules.indent(6).stripTrailing(), backend.url()), Map.of(), new GatewayOptions(2, "test", clock));
  }

  HttpResponse<String> get(String... headers) {
    return gw.get("/api/x", headers);
  }

  @Test
  void aFixedWindowAdmitsTheLimitThenAnswers429UntilTheWindowEnds() {
    start("- { limit: 3, window: 1m }");
    for (int i = 2; i >= 0; i--) {
      HttpResponse<String> r = get();
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("RateLimit-Limit")).hasValue("3");
      assertThat(r.headers().firstValue("RateLimit-Remaining")).hasValue(Integer.toString(i));
      assertThat(r.headers().firstValue("RateLimit-Reset")).hasValue("50");
      assertThat(r.headers().firstValue("RateLimit-Policy")).hasValue("3;w=60");
      assertThat(r.headers().firstValue("Retry-After")).isEmpty();
    }
    HttpResponse<String> refused = get();
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Retry-After")).hasValue("50");
    assertThat(refused.headers().firstValue("RateLimit-Remaining")).hasValue("0");
    assertThat(refused.body()).matches("429 Too Many Requests \\(request id [0-9a-f-]+\\)\\n");
    assertThat(backend.requests()).isEqualTo(3);

    clock.advance(Duration.ofSeconds(49));
    assertThat(get().statusCode()).isEqualTo(429);
    clock.advance(Duration.ofSeconds(1)); // the next minute
    assertThat(get().statusCode()).isEqualTo(200);
    assertThat(backend.requests()).isEqualTo(4);
  }

  @Test
  void aHeaderKeyCountsEachValueApartAndRequestsWithoutItTogether() {
    start("- { limit: 1, window: 1m, key: \"header:X-User\" }");
    assertThat(get("X-User", "alice").statusCode()).isEqualTo(200);
    assertThat(get("X-User", "alice").statusCode()).isEqualTo(429);
    assertThat(get("X-User", "bob").statusCode()).isEqualTo(200);
    assertThat(get().statusCode()).isEqualTo(200);
    assertThat(get().statusCode()).isEqualTo(429);
    String longValue = "v".repeat(5000);
    assertThat(get("X-User", longValue).statusCode()).isEqualTo(200);
    assertThat(get("X-User", longValue).statusCode()).isEqualTo(429);
  }

  @Test
  void aTokenBucketRefillsEvenlyOverTheWindow() {
    start("- { limit: 2, window: 10s, algorithm: token_bucket, key: tenant }");
    assertThat(get().headers().firstValue("RateLimit-Remaining")).hasValue("1");
    assertThat(get().headers().firstValue("RateLimit-Remaining")).hasValue("0");
    HttpResponse<String> refused = get();
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Retry-After")).hasValue("5"); // one token per 5 s
    clock.advance(Duration.ofMillis(4999));
    assertThat(get().statusCode()).isEqualTo(429);
    clock.advance(Duration.ofMillis(1));
    assertThat(get().statusCode()).isEqualTo(200);
    assertThat(get().statusCode()).isEqualTo(429);
  }

  @Test
  void aSlidingWindowWeighsTheLastWindowByWhatStillOverlaps() {
    start("- { limit: 10, window: 10s, algorithm: sliding_window, key: tenant }");
    for (int i = 0; i < 10; i++) {
      assertThat(get().statusCode()).isEqualTo(200);
    }
    assertThat(get().statusCode()).isEqualTo(429);
    clock.advance(Duration.ofSeconds(15)); // half-way through the next window: the last one counts 5
    for (int i = 0; i < 5; i++) {
      assertThat(get().statusCode()).as("request " + i).isEqualTo(200);
    }
    HttpResponse<String> refused = get();
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Retry-After")).hasValue("1"); // the last window's weight drops by 1 per second
  }

  @Test
  void aReloadKeepsTheCountsOfAnUnchangedRuleAndStartsAChangedOneOver() {
    start("- { limit: 2, window: 1m }");
    get();
    get();
    assertThat(get().statusCode()).isEqualTo(429);
    gw.rewrite("""
        tenants:
          - name: api
            path_prefix: /api/
            preserve_host: false
            rate_limits:
              - { limit: 2, window: 1m }
            services: [{ name: b, url: "%s" }]
        """.formatted(backend.url()));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    assertThat(get().statusCode()).isEqualTo(429);
    gw.rewrite("""
        tenants:
          - name: api
            path_prefix: /api/
            rate_limits:
              - { limit: 3, window: 1m }
            services: [{ name: b, url: "%s" }]
        """.formatted(backend.url()));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    assertThat(get().statusCode()).isEqualTo(200);
  }

  @Test
  void a429KeepsTheConnectionOpen() {
    start("- { limit: 1, window: 1m }");
    try (var raw = gw.raw()) {
      raw.write("GET /api/a HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(raw.readUntil("\r\n\r\n")).startsWith("HTTP/1.1 200");
      raw.write("GET /api/b HTTP/1.1\r\nHost: x\r\n\r\n");
      String second = raw.readUntil(")\n");
      assertThat(second).contains("HTTP/1.1 429").doesNotContain("connection: close");
      raw.write("GET /api/c HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(raw.readUntil("Retry-After")).contains("HTTP/1.1 429");
    }
  }

  @Test
  void mistakesInRateLimitsAreNamedWithTheirLine() {
    String yaml = """
        tenants:
          - name: api
            path_prefix: /api/
            rate_limits:
              - { limit: 0, window: 1m }
              - { limit: 5, window: 500ms, key: "header:" }
              - { limit: 5, window: 1m, scope: cluster }
              - { limit: 5, window: 1m, algorithm: leaky, key: cookie, batch: 2 }
            services: [{ name: b, url: "http://127.0.0.1:1" }]
        """;
    assertThatThrownBy(() -> new ConfigLoader().parse(yaml, "c.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("c.yaml:5: tenants[0].rate_limits[0].limit: must be between 1 and 1000000000")
        .hasMessageContaining("c.yaml:6: tenants[0].rate_limits[1].window: must be between 1s and 1d")
        .hasMessageContaining("c.yaml:6: tenants[0].rate_limits[1].key: header:NAME needs a header name, got 'header:'")
        .hasMessageContaining("c.yaml:7: tenants[0].rate_limits[2].scope: cluster counts in the state store: set state_store:")
        .hasMessageContaining("c.yaml:8: tenants[0].rate_limits[3].algorithm: fixed_window, sliding_window or token_bucket, got 'leaky'")
        .hasMessageContaining("c.yaml:8: tenants[0].rate_limits[3].key: tenant, client_ip, api_key or header:NAME, got 'cookie'")
        .hasMessageContaining("c.yaml:8: tenants[0].rate_limits[3].batch: only for scope: cluster");
    // attack s18-policy F9: counted by the API key's header, which is gone before the limits count
    assertThatThrownBy(() -> new ConfigLoader().parse("""
        tenants:
          - name: api
            path_prefix: /api/
            api_key: true
            rate_limits: [{ limit: 5, window: 1m, key: "header:x-api-key" }]
            services: [{ name: b, url: "http://127.0.0.1:1" }]
        """, "k.yaml"))
        .hasMessageContaining("k.yaml:5: tenants[0].rate_limits[0].key: header:x-api-key is removed before the limits count; use key: api_key");
  }
}
