package dev.keystone.proxy;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import dev.keystone.testing.TestRedis;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scripts' kv store shared through the state store (issue 17): two gateways on one Redis
 * converge on counters and values (TTLs kept); Redis down, each counts alone and no request waits.
 */
class SharedKvTest {

  @TempDir
  Path dir;
  TestRedis redis;
  Vertx vertx;
  TestBackend backend;
  TestGateway a;
  TestGateway b;

  static final String SCRIPT = """
      function on_request(req)
        if req.path == "/incr" then return respond(200, tostring(kv.incr("hits", 1, 0))) end
        if req.path == "/set" then kv.set(req.query.k, req.query.v, tonumber(req.query.ttl or "0")) return respond(200, "ok") end
        if req.path == "/get" then return respond(200, tostring(kv.get(req.query.k))) end
        return respond(404, "?")
      end
      """;

  @BeforeEach
  void start() {
    redis = new TestRedis(dir);
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "b");
    String yaml = """
        state_store: %s
        tenants:
          - { name: t, path_prefix: /, lua_script: shared, services: [{ name: b, url: "%s" }] }
        """.formatted(redis.url(), backend.url());
    a = TestGateway.start(yaml, Map.of("shared", SCRIPT));
    b = TestGateway.start(yaml, Map.of("shared", SCRIPT));
  }

  @AfterEach
  void stop() {
    a.close();
    b.close();
    vertx.close();
    redis.close();
  }

  static String get(TestGateway g, String path) {
    return g.get(path).body();
  }

  @Test
  void twoGatewaysConvergeOnCountersAndValues() {
    for (int i = 0; i < 3; i++) {
      get(a, "/incr");
    }
    for (int i = 0; i < 2; i++) {
      get(b, "/incr");
    }
    for (TestGateway g : new TestGateway[] {a, b}) {
      Await.until("both see 5", Duration.ofSeconds(10), () -> get(g, "/get?k=hits").equals("5"));
    }
    get(b, "/set?k=color&v=blue");
    Await.until("a sees b's value", Duration.ofSeconds(10), () -> get(a, "/get?k=color").equals("blue"));
    get(a, "/set?k=color&v=green");
    Await.until("b sees a's value", Duration.ofSeconds(10), () -> get(b, "/get?k=color").equals("green"));

    get(a, "/set?k=brief&v=x&ttl=5"); // long enough for b to see it first on a slow host
    Await.until("b sees the brief value", Duration.ofSeconds(10), () -> get(b, "/get?k=brief").equals("x"));
    Await.until("it expires on both", Duration.ofSeconds(10),
        () -> get(a, "/get?k=brief").equals("nil") && get(b, "/get?k=brief").equals("nil"));

    // a gateway started later reads the shared keys back
    TestGateway c = TestGateway.start("""
        state_store: %s
        tenants:
          - { name: t, path_prefix: /, lua_script: shared, services: [{ name: b, url: "%s" }] }
        """.formatted(redis.url(), backend.url()), Map.of("shared", SCRIPT));
    try {
      Await.until("c reads them back", Duration.ofSeconds(10), () -> get(c, "/get?k=hits").equals("5") && get(c, "/get?k=color").equals("green"));
    } finally {
      c.close();
    }
  }

  @Test
  void redisDownEachCountsAloneAndNoRequestFails() {
    get(a, "/incr");
    Await.until("b sees 1", Duration.ofSeconds(10), () -> get(b, "/get?k=hits").equals("1"));
    redis.stop();
    for (int i = 0; i < 5; i++) {
      assertThat(a.get("/incr").statusCode()).isEqualTo(200);
    }
    assertThat(get(a, "/get?k=hits")).isEqualTo("6");
    assertThat(get(b, "/get?k=hits")).isEqualTo("1");
    redis.start(); // empty: the shared count starts over from what the instances write next
    Await.until("b shares again", Duration.ofSeconds(20), () -> {
      get(b, "/set?k=after&v=1");
      return get(a, "/get?k=after").equals("1");
    });
  }

  @Test
  void anotherDatabaseIsAnotherCluster() {
    TestGateway other = TestGateway.start("""
        state_store: %s/2
        tenants:
          - { name: t, path_prefix: /, lua_script: shared, services: [{ name: b, url: "%s" }] }
        """.formatted(redis.url(), backend.url()), Map.of("shared", SCRIPT));
    try {
      get(a, "/set?k=color&v=blue");
      Await.until("b sees it", Duration.ofSeconds(10), () -> get(b, "/get?k=color").equals("blue"));
      get(other, "/set?k=marker&v=1");
      Await.until("the other cluster has its own", Duration.ofSeconds(10), () -> get(other, "/get?k=marker").equals("1"));
      get(a, "/set?k=color&v=green");
      Await.until("b sees the change", Duration.ofSeconds(10), () -> get(b, "/get?k=color").equals("green"));
      assertThat(get(other, "/get?k=color")).isEqualTo("nil");
      assertThat(get(a, "/get?k=marker")).isEqualTo("nil");
    } finally {
      other.close();
    }
  }
}
