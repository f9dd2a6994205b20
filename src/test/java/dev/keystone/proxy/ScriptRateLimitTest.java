package dev.keystone.proxy;

import dev.keystone.gateway.GatewayOptions;
import dev.keystone.script.KeyValueStore;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.script.ScriptLimits;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestClock;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A script's {@code rate_limit(key, limit, window)}: counted per tenant, on this instance, fixed windows. */
class ScriptRateLimitTest {

  final TestClock clock = new TestClock(Instant.parse("2026-12-07T10:00:50Z"));
  Vertx vertx = Vertx.vertx();
  TestBackend backend = new TestBackend(vertx, "b");
  TestGateway gw;

  static final String SCRIPT = """
      function on_request(req)
        if req.path == "/many" then
          for i = 1, 9 do rate_limit("k", i, 60) end
          return respond(200, "nine")
        end
        local ok, remaining, retry = rate_limit(req.headers["X-User"] or "anonymous", 2, 60)
        if not ok then
          return respond(429, "slow down " .. retry, { ["Retry-After"] = tostring(retry) })
        end
        return respond(200, "ok " .. remaining)
      end
      """;

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  @Test
  void aScriptLimitsByItsOwnKeyPerTenant() {
    ScriptEnvironment env = new ScriptEnvironment(clock, () -> 0.5, ScriptLimits.DEFAULT, KeyValueStore.Limits.DEFAULT);
    gw = TestGateway.start("""
        tenants:
          - { name: a, path_prefix: /a/, lua_script: limit, services: [{ name: b, url: "%1$s" }] }
          - { name: b, path_prefix: /b/, lua_script: limit, services: [{ name: b, url: "%1$s" }] }
        """.formatted(backend.url()), Map.of("limit", SCRIPT), new GatewayOptions(2, "test", clock, env));
    assertThat(gw.get("/a/x", "X-User", "ann").body()).isEqualTo("ok 1");
    assertThat(gw.get("/a/x", "X-User", "ann").body()).isEqualTo("ok 0");
    assertThat(gw.get("/a/x", "X-User", "ann").body()).isEqualTo("slow down 10");
    assertThat(gw.get("/a/x", "X-User", "bob").body()).isEqualTo("ok 1");
    assertThat(gw.get("/b/x", "X-User", "ann").body()).as("another tenant's count").isEqualTo("ok 1");
    clock.advance(Duration.ofSeconds(10));
    assertThat(gw.get("/a/x", "X-User", "ann").body()).isEqualTo("ok 1");

    var many = gw.get("/a/many");
    assertThat(many.statusCode()).isEqualTo(500); // a ninth limit/window pair: refused, the script fails
    assertThat(gw.get("/a/x", "X-User", "carl").body()).isEqualTo("ok 1");
  }
}
