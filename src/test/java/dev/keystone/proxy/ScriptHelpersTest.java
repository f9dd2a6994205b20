package dev.keystone.proxy;

import dev.keystone.gateway.GatewayOptions;
import dev.keystone.gateway.Gateway;
import dev.keystone.script.KeyValueStore;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.script.ScriptLimits;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestClock;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The script helpers through the gateway: hash, random, now, log, json and the per-tenant
 * key/value store (shared by both event loops, TTLs on the test clock, a size cap).
 */
class ScriptHelpersTest {

  static final TestClock CLOCK = new TestClock(Instant.parse("2026-11-30T12:00:00Z"));
  static Vertx vertx;
  static TestBackend backend;
  static TestGateway gw;

  static final String HELPERS = """
      function on_request(req)
        local p = req.path
        if p == "/hash" then return respond(200, tostring(hash(req.query.id))) end
        if p == "/random" then return respond(200, string.format("%.6f %d", random(), random(1, 6))) end
        if p == "/now" then return respond(200, string.format("%.3f", now())) end
        if p == "/log" then log("hello", 42) return respond(200, "logged") end
        if p == "/json" then
          local v = json.decode(req.headers["X-Json"])
          v.seen = true
          return respond(200, json.encode({ v.a, v.b.c, v.seen, #v.list }))
        end
        if p == "/count" then return respond(200, tostring(kv.incr("hits", 1, 60))) end
        if p == "/flag" then
          if req.query.set then kv.set("color", req.query.set) end
          if req.query.delete then kv.delete("color") end
          return respond(200, tostring(kv.get("color")))
        end
        if p == "/global" then
          seen = (seen or 0) + 1 -- refused: globals are read-only once the script has loaded
          return respond(200, tostring(seen))
        end
        if p == "/fill" then
          for i = 1, 10 do kv.set("k" .. i, i) end
          return respond(200, "filled")
        end
      end
      """;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "b");
    Random seeded = new Random(42);
    ScriptEnvironment env = new ScriptEnvironment(CLOCK, seeded::nextDouble, ScriptLimits.DEFAULT,
        new KeyValueStore.Limits(5, 64, 1024));
    StringBuilder yaml = new StringBuilder("tenants:\n");
    for (String t : new String[] {"h", "other", "full"}) {
      yaml.append("""
            - name: %1$s
              path_prefix: /%1$s/
              lua_script: helpers
              services: [{ name: b, url: "%2$s", health: /health }]
          """.formatted(t, backend.url()));
    }
    gw = TestGateway.start(yaml.toString(), Map.of("helpers", HELPERS), new GatewayOptions(2, "test", CLOCK, env));
  }

  @AfterAll
  static void stop() {
    gw.close();
    vertx.close();
  }

  static String body(String path, String... headers) {
    HttpResponse<String> r = gw.get(path, headers);
    assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
    return r.body();
  }

  @Test
  void hashIsStableAndDocumented() {
    // FNV-1a 32 bit, masked to 31 bits: fixed values, so buckets never move between versions
    assertThat(body("/h/hash?id=user-123")).isEqualTo("211012755"); // computed independently (Python)
    assertThat(body("/h/hash?id=")).isEqualTo(Long.toString(0x811c9dc5L & 0x7fffffffL));
  }

  @Test
  void randomComesFromTheEnvironment() {
    String[] parts = body("/h/random").split(" ");
    assertThat(Double.parseDouble(parts[0])).isBetween(0.0, 1.0);
    assertThat(Integer.parseInt(parts[1])).isBetween(1, 6);
  }

  @Test
  void nowIsTheGatewayClock() {
    assertThat(Double.parseDouble(body("/h/now"))).isGreaterThanOrEqualTo(Instant.parse("2026-11-30T12:00:00Z").getEpochSecond());
  }

  @Test
  void logWorks() {
    assertThat(body("/h/log")).isEqualTo("logged");
  }

  @Test
  void jsonRoundTrips() {
    assertThat(body("/h/json", "X-Json", "{\"a\": 1, \"b\": {\"c\": \"x\"}, \"list\": [1, 2, 3]}"))
        .isEqualTo("[1,\"x\",true,3]");
    assertThat(gw.get("/h/json", "X-Json", "{broken").statusCode()).as("bad JSON is a script error").isEqualTo(500);
  }

  @Test
  void theKeyValueStoreIsSharedPerTenantAndExpires() {
    int first = (int) Double.parseDouble(body("/h/count"));
    for (int i = 1; i <= 10; i++) { // two event loops, one counter
      assertThat((int) Double.parseDouble(body("/h/count"))).isEqualTo(first + i);
    }
    assertThat(body("/other/count")).as("another tenant has its own store").isEqualTo("1");
    CLOCK.advance(Duration.ofSeconds(61));
    assertThat(body("/h/count")).as("the window expired").isEqualTo("1");
    assertThat(body("/h/flag?set=green")).isEqualTo("green");
    assertThat(body("/h/flag")).isEqualTo("green");
    assertThat(body("/h/flag?delete=1")).isEqualTo("nil");
  }

  @Test
  void globalsAreReadOnlyOnceTheScriptHasLoaded() {
    // State that outlives a request lives in kv (bounded, per tenant); a global written per
    // request would grow without bound and differ between event loops.
    assertThat(gw.get("/h/global").statusCode()).isEqualTo(500);
    assertThat(gw.get("/other/global").statusCode()).isEqualTo(500);
  }

  @Test
  void theStoreIsCapped() {
    HttpResponse<String> r = gw.get("/full/fill"); // 10 keys into a store of 5
    assertThat(r.statusCode()).isEqualTo(500);
  }
}
