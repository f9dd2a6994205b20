package dev.keystone.engine;

import dev.keystone.testing.Await;
import dev.keystone.testing.GatewayProcess;
import dev.keystone.testing.NodeEngine;
import dev.keystone.testing.TestBackend;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A supervised engine outside a sandbox ({@code sandbox: none}) goes with a gateway killed with
 * -9: the Node.js engine stayed behind, orphaned, holding its scripts and memory (found at the end
 * of attack round 8 on the Node engine; docs/engine-protocol.md said it went). The gateway names
 * itself in {@code KEYSTONE_ENGINE_PARENT}, and the engine leaves once that process is gone.
 */
class EngineGoesWithTheGatewayTest {

  @TempDir
  Path dir;
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

  static final String ENGINE = Path.of("engines/node/engine.js").toAbsolutePath().toString();

  /** A gateway (its JVM given {@code jvmArgs}) whose tenant t runs route.js in a supervised Node engine without a sandbox. */
  GatewayProcess gatewayWithNodeEngine(List<String> jvmArgs) throws Exception {
    Files.createDirectories(dir.resolve("scripts"));
    Files.writeString(dir.resolve("scripts/route.js"), "function on_request(req) { return respond(200, 'by script'); }\n");
    Files.writeString(dir.resolve("config.yaml"), """
        lua_engine:
          enabled: true
          timeout: 2s
          supervise: { command: [node, "%s"], sandbox: none, scripts: scripts }
        tenants:
          - name: t
            path_prefix: /t/
            lua_script: route
            services: [ { name: app, url: "%s", health: /health } ]
        """.formatted(ENGINE, app.url()));
    return GatewayProcess.start(dir, jvmArgs, "run", "--config", "config.yaml", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0");
  }

  /** Once the gateway listens, its tenant's request is answered by the script. */
  static void servedByScript(GatewayProcess gw) throws Exception {
    int port = gw.awaitListening();
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/t/x")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.body()).isEqualTo("by script");
  }

  @Test
  void theNodeEngineWithoutASandboxExitsWhenTheGatewayIsKilled() throws Exception {
    List<ProcessHandle> engines = List.of();
    try (GatewayProcess gw = gatewayWithNodeEngine(List.of("-Xmx256m"))) {
      servedByScript(gw);
      engines = gw.descendants().stream()
          .filter(p -> p.info().commandLine().orElse("").contains(ENGINE)).toList();
      assertThat(engines).hasSize(1);
      gw.signal("KILL");
      assertThat(gw.waitForExit(Duration.ofSeconds(10))).isEqualTo(137);
      ProcessHandle orphan = engines.get(0);
      Await.until("the engine (pid " + orphan.pid() + ") exits after its gateway was killed",
          Duration.ofSeconds(15), () -> !orphan.isAlive());
    } finally {
      engines.forEach(ProcessHandle::destroyForcibly); // only if it was left behind
    }
  }

  @Test
  void aGatewayStoppedWithSigtermLeavesNoneOfItsEngineDirectories() throws Exception {
    // Failed before: the shared engine's scripts copy (keystone-PID-scripts-shared-...) stayed in
    // the temporary directory after a clean stop: the stop removed only copies named
    // keystone-scripts-shared-..., a name they had lost (attack round 10 on the Node engine, N10-3).
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    try (GatewayProcess gw = gatewayWithNodeEngine(List.of("-Xmx256m", "-Djava.io.tmpdir=" + tmp))) {
      servedByScript(gw);
      try (var made = Files.list(tmp)) {
        assertThat(made.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("keystone-"))
            .map(n -> n.replaceAll("\\d+", "N")).sorted().toList())
            .as("the engine's socket directory and the scripts copy, each with its lock")
            .containsExactly("keystone-N-engine-N", "keystone-N-engine-N.lock", "keystone-N-scripts-shared-N", "keystone-N-scripts-shared-N.lock");
      }
      gw.signal("TERM");
      gw.waitForExit(Duration.ofSeconds(20));
      try (var left = Files.list(tmp)) {
        assertThat(left.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("keystone-")).toList()).isEmpty();
      }
    }
  }
}
