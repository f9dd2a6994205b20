package dev.keystone.engine;

import dev.keystone.model.ReloadResult;
import dev.keystone.testing.Await;
import dev.keystone.testing.LogCapture;
import dev.keystone.testing.NodeEngine;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Node.js engine supervised by a real gateway, with tenants that share it: one tenant's
 * looping or broken script costs that tenant, never the others (attack on the Node engine,
 * round 2: N2-1, N2-2, N2-3). The gateway's default engine timeout (50 ms) throughout.
 */
class SupervisedNodeEngineTest {

  static final String GOOD = "function on_request(req) { return route_to('app'); }\n";
  static final String SPIN = "function on_request(req) { for (;;) {} }\n";
  static final String BROKEN = "function on_request(req) { return route_to('app') ;; ) }\n";

  @TempDir
  Path scripts;
  Vertx vertx;
  TestBackend app;

  @BeforeEach
  void start() {
    NodeEngine.ensureInstalled();
    vertx = Vertx.vertx();
    app = new TestBackend(vertx, "app");
  }

  @AfterEach
  void stop() {
    vertx.close();
  }

  TestGateway gateway() {
    String engine = Path.of("engines/node/engine.js").toAbsolutePath().toString();
    String service = "    services: [ { name: app, url: \"" + app.url() + "\", health: /health } ]\n";
    return TestGateway.start("""
        lua_engine:
          enabled: true
          supervise: { command: [node, "%s"], sandbox: none, scripts: "%s" }
        tenants:
          - name: good
            path_prefix: /good/
            lua_script: good
        %s
          - name: hog
            path_prefix: /hog/
            lua_script: spin
            on_script_error: fail_open
        %s
          - name: evil
            path_prefix: /evil/
            lua_script: evil
        %s
        """.formatted(engine, scripts, service, service, service), Map.of());
  }

  void write(String name, String source) throws Exception {
    Files.writeString(scripts.resolve(name + ".js"), source);
  }

  @Test
  void aTenantWhoseScriptLoopsDoesNotOpenTheEnginesCircuitForTheOthers() throws Exception {
    // Failed before: the engine answered the looping script just after the gateway's 50 ms, five
    // such timeouts opened the circuit of the shared engine, and good's requests were 500.
    write("good", GOOD);
    write("spin", SPIN);
    write("evil", GOOD);
    try (TestGateway gw = gateway()) {
      Await.until("good is routed by its script", Duration.ofSeconds(30), () -> gw.get("/good/x").statusCode() == 200);
      for (int i = 0; i < 10; i++) {
        assertThat(gw.get("/hog/x").statusCode()).as("fail_open: the hog's own requests pass").isEqualTo(200);
      }
      for (int i = 0; i < 5; i++) {
        var r = gw.get("/good/x");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("app /x");
      }
    }
  }

  @Test
  void aScriptTheEngineRefusesFailsTheReloadAndNeverReachesTheEnginesNextStart() throws Exception {
    // Failed before: the reload was applied, the refused file stayed in the engine's copy, and
    // the engine's next start exited 1 on it, over and over: every tenant down.
    write("good", GOOD);
    write("spin", SPIN);
    write("evil", "function on_request(req) { return respond(200, 'old evil'); }\n");
    try (TestGateway gw = gateway()) {
      Await.until("evil answers with its script", Duration.ofSeconds(30), () -> gw.get("/evil/x").body().equals("old evil"));
      write("evil", BROKEN);
      ReloadResult r = gw.gateway().reloadFromFile();
      assertThat(r.applied()).isFalse();
      assertThat(r.errors()).hasSize(1);
      assertThat(r.errors().get(0)).startsWith("lua_engine.supervise: the supervised engine: the engine refused the scripts: ")
          .contains("evil.js:1: SyntaxError: unexpected token in expression: ')'");
      assertThat(gw.get("/evil/x").body()).isEqualTo("old evil");

      long before = gw.gateway().supervisedEngine().restarts();
      ProcessHandle.of(gw.gateway().supervisedEngine().pid()).orElseThrow().destroyForcibly();
      Await.until("a new engine", Duration.ofSeconds(30), () -> gw.gateway().supervisedEngine().restarts() > before);
      Await.until("the new engine serves good", Duration.ofSeconds(30), () -> gw.get("/good/x").statusCode() == 200);
      Await.until("...and evil's old script", Duration.ofSeconds(10), () -> gw.get("/evil/x").body().equals("old evil"));
    }
  }

  @Test
  void aGatewayStartedWithABrokenScriptServesTheOtherTenants() throws Exception {
    // Failed before: the engine exited 1 at every start; good was 500 throughout.
    write("good", GOOD);
    write("spin", SPIN);
    write("evil", BROKEN);
    try (LogCapture log = LogCapture.of("keystone.gateway"); TestGateway gw = gateway()) {
      Await.until("good is routed by its script", Duration.ofSeconds(30), () -> gw.get("/good/x").statusCode() == 200);
      assertThat(gw.get("/evil/x").statusCode()).as("fail_closed").isEqualTo(500);
      assertThat(gw.gateway().supervisedEngine().restarts()).isZero();
      Await.until("the gateway says which script fails", () -> !log.matching("serves these scripts as failing").isEmpty());
      assertThat(log.matching("serves these scripts as failing").get(0)).contains("evil.js:1: SyntaxError");
    }
  }

  @Test
  void theEngineIsToldTheMemoryItHas() throws Exception {
    write("good", GOOD);
    write("spin", SPIN);
    write("evil", GOOD);
    try (LogCapture log = LogCapture.of("keystone.engine"); TestGateway gw = gateway()) {
      Await.until("good is routed by its script", Duration.ofSeconds(30), () -> gw.get("/good/x").statusCode() == 200);
      assertThat(log.matching("engine serving")).hasSize(1);
      assertThat(log.matching("engine serving").get(0))
          .contains("memory budget 256 MiB (isolates up to 32 MiB, kv 8 MiB a tenant, 32 MiB in all)");
    }
  }
}
