package dev.keystone.proxy;

import dev.keystone.engine.Engine;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tenants whose scripts run in a separate engine (the lua_engine block): the same decisions as
 * embedded, the error policy when the engine is down or hung, and recovery when it returns.
 */
class RemoteEngineTest {

  static final Path SCRIPTS = Path.of("examples/scripts");

  Vertx vertx;
  TestBackend stable;
  TestBackend canary;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    stable = new TestBackend(vertx, "stable");
    canary = new TestBackend(vertx, "canary");
  }

  @AfterEach
  void stop() {
    vertx.close();
  }

  TestGateway gateway(String engineUrl, String timeout) {
    String services = """
            health_interval: 100ms
            services:
              - { name: stable, url: "%s", health: /health, labels: { version: stable } }
              - { name: canary-42, url: "%s", health: /health, labels: { version: canary } }
        """.formatted(stable.url(), canary.url());
    TestGateway gw = TestGateway.start("""
        lua_engine: { enabled: true, url: "%s", timeout: %s }
        tenants:
          - name: canary
            path_prefix: /canary/
            lua_script: canary-header
            on_script_error: fail_open
        %s
          - name: keys
            path_prefix: /keys/
            lua_script: api-key
        %s
        """.formatted(engineUrl, timeout, services, services));
    Await.until("backends healthy", () -> gw.get("/health").body().contains("\"keys\":\"2/2 healthy\""));
    return gw;
  }

  @Test
  void decisionsComeFromTheEngine() {
    Engine engine = Await.result(Engine.start(SCRIPTS, SocketAddress.inetSocketAddress(0, "127.0.0.1"), 1));
    try (TestGateway gw = gateway("http://127.0.0.1:" + engine.port(), "2s")) {
      for (int i = 0; i < 4; i++) {
        assertThat(gw.get("/canary/x", "X-Deploy-ID", "42").body()).isEqualTo("canary /x");
        assertThat(gw.get("/canary/x").body()).isEqualTo("stable /x");
      }
      assertThat(gw.get("/keys/x").statusCode()).isEqualTo(401);
      HttpResponse<String> ok = gw.get("/keys/x", "X-API-Key", "k-7f3a9c");
      assertThat(ok.statusCode()).isEqualTo(200);
      TestBackend hit = ok.body().startsWith("stable") ? stable : canary;
      assertThat(hit.last().headers().get("X-Client")).isEqualTo("acme");
      assertThat(hit.last().headers().contains("X-API-Key")).isFalse();
    } finally {
      Await.result(engine.close());
    }
  }

  @Test
  void anEngineThatIsDownFollowsThePolicyAndIsUsedAgainWhenItReturns() {
    Engine engine = Await.result(Engine.start(SCRIPTS, SocketAddress.inetSocketAddress(0, "127.0.0.1"), 1));
    int port = engine.port();
    try (TestGateway gw = gateway("http://127.0.0.1:" + port, "2s")) {
      assertThat(gw.get("/canary/x", "X-Deploy-ID", "42").body()).isEqualTo("canary /x");
      Await.result(engine.close());
      for (int i = 0; i < 10; i++) { // also once the circuit is open
        HttpResponse<String> open = gw.get("/canary/x", "X-Deploy-ID", "42");
        assertThat(open.statusCode()).as("fail_open: routed as without a script").isEqualTo(200);
        assertThat(gw.get("/keys/x", "X-API-Key", "k-7f3a9c").statusCode()).as("fail_closed").isEqualTo(500);
      }
      Engine back = Await.result(Engine.start(SCRIPTS, SocketAddress.inetSocketAddress(port, "127.0.0.1"), 1));
      try {
        Await.until("the engine is used again", () -> gw.get("/keys/x", "X-API-Key", "k-7f3a9c").statusCode() == 200);
        assertThat(gw.get("/keys/x").statusCode()).isEqualTo(401);
      } finally {
        Await.result(back.close());
      }
    }
  }

  @Test
  void aHungEngineCostsTheDeadlineNotTheRequest() {
    NetServer silent = Await.result(vertx.createNetServer().connectHandler(socket -> { }).listen(0, "127.0.0.1"));
    try (TestGateway gw = gateway("http://127.0.0.1:" + silent.actualPort(), "200ms")) {
      HttpResponse<String> r = gw.get("/canary/x", "X-Deploy-ID", "42");
      assertThat(r.statusCode()).as("fail_open after the deadline").isEqualTo(200);
      assertThat(gw.get("/keys/x", "X-API-Key", "k-7f3a9c").statusCode()).isEqualTo(500);
    }
  }
}
