package dev.keystone.proxy;

import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.testing.LogCapture;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** script_limits in the config: applied to every script call, and checked at load. */
class ScriptLimitsConfigTest {

  static final String LOOP = """
      function on_request(req)
        local n = 0
        for i = 1, tonumber(req.query.n) do n = n + i end
        return respond(200, tostring(n))
      end
      """;

  @Test
  void theConfiguredBudgetApplies() {
    Vertx vertx = Vertx.vertx();
    TestBackend b = new TestBackend(vertx, "b");
    try (TestGateway gw = TestGateway.start("""
        script_limits:
          instructions: 2000
          deadline: 2s
          max_string: 4KiB
          max_depth: 20
        tenants:
          - name: t
            path_prefix: /t/
            lua_script: loop
            services: [{ name: b, url: "%s" }]
        """.formatted(b.url()), Map.of("loop", LOOP))) {
      assertThat(gw.get("/t/x?n=100").body()).isEqualTo("5050");
      assertThat(gw.get("/t/x?n=5000").statusCode()).as("over 2000 instructions").isEqualTo(500);
    } finally {
      vertx.close();
    }
  }

  static final String SPIN = """
      function on_request(req)
        if req.path == "/spin" then while true do end end
        return respond(200, "ok")
      end
      """;

  @Test
  void aTenantThatUsedItsTimeShareFailsFastWhileOthersRun() {
    Vertx vertx = Vertx.vertx();
    TestBackend b = new TestBackend(vertx, "b");
    try (TestGateway gw = TestGateway.start("""
        script_limits: { instructions: 100000000, deadline: 500ms, time_per_second: 20ms }
        tenants:
          - name: spinner
            path_prefix: /s/
            lua_script: spin
            services: [{ name: b, url: "%1$s" }]
          - name: other
            path_prefix: /o/
            lua_script: spin
            services: [{ name: b, url: "%1$s" }]
        """.formatted(b.url()), Map.of("spin", SPIN));
         LogCapture log = LogCapture.of("keystone.script")) {
      assertThat(gw.get("/s/spin", "X-Request-ID", "spin-1").statusCode()).isEqualTo(500); // its deadline: 500 ms spent
      assertThat(gw.get("/s/x", "X-Request-ID", "spin-2").statusCode()).as("its share (20 ms a second) is spent").isEqualTo(500);
      assertThat(log.matching("request_id=spin-2")).singleElement().asString()
          .contains("the tenant's scripts used their time share (script_limits.time_per_second: 20 ms a second)");
      assertThat(gw.get("/o/x").body()).as("another tenant has its own share").isEqualTo("ok");
    } finally {
      vertx.close();
    }
  }

  @Test
  void badLimitsAreConfigErrorsWithLines() {
    assertThatThrownBy(() -> new ConfigLoader(k -> null).parse("""
        script_limits:
          instructions: 10
          deadline: 1h
          max_depth: 5000
          max_strng: 1KiB
          max_memory: 512KiB
        tenants:
          - name: t
            path_prefix: /t/
            services: [{ name: b, url: "http://127.0.0.1:1" }]
        """, "c.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("c.yaml:2: script_limits.instructions: must be between 1000 and 100000000")
        .hasMessageContaining("c.yaml:3: script_limits.deadline: must be between 1ms and 10s")
        .hasMessageContaining("c.yaml:4: script_limits.max_depth: must be between 10 and 180")
        .hasMessageContaining("c.yaml:5: script_limits.max_strng: unknown key (did you mean 'max_string'?)")
        .hasMessageContaining("c.yaml:6: script_limits.max_memory: must be between 1MiB and 1GiB");
  }
}
