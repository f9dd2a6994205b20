package dev.keystone.engine;

import dev.keystone.testing.Await;
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
 * The Python engine supervised by a real gateway in bubblewrap (its own network and PID
 * namespaces, a read-only file system, cgroup limits where the host allows them), tenants' .py
 * scripts deciding: one tenant's endless loop is stopped at its deadline and never delays
 * another's answers, and a script cannot reach the host's files.
 */
class SupervisedPythonEngineTest {

  @TempDir
  Path scripts;
  Vertx vertx;
  TestBackend app;
  TestBackend other;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    app = new TestBackend(vertx, "app");
    other = new TestBackend(vertx, "other");
  }

  @AfterEach
  void stop() {
    vertx.close();
  }

  @Test
  void pythonScriptsDecideInTheSandboxAndALoopCostsOnlyItsTenant() throws Exception {
    Files.writeString(scripts.resolve("pick.py"), """
        def on_request(req):
            if req.headers['X-Want'] == 'other':
                return route_to('other')
            return route_to('app')
        """);
    Files.writeString(scripts.resolve("spin.py"), """
        def on_request(req):
            while True:
                pass
        """);
    Files.writeString(scripts.resolve("peek.py"), """
        def on_request(req):
            try:
                with open('/etc/hostname') as f:
                    return respond(200, 'read ' + f.read())
            except Exception as e:
                return respond(200, 'refused: ' + type(e).__name__)
        """);
    String engine = Path.of("engines/python/engine.py").toAbsolutePath().toString();
    String services = "    services: [ { name: app, url: \"%s\", health: /health }, { name: other, url: \"%s\", health: /health } ]\n"
        .formatted(app.url(), other.url());
    try (TestGateway gw = TestGateway.start("""
        lua_engine:
          enabled: true
          timeout: 2s
          supervise: { command: ["%s", "%s"], sandbox: bubblewrap, scripts: "%s" }
        tenants:
          - name: picky
            path_prefix: /p/
            lua_script: pick
        %s
          - name: hog
            path_prefix: /hog/
            lua_script: spin
        %s
          - name: nosy
            path_prefix: /nosy/
            lua_script: peek
        %s
        """.formatted(EngineConformanceTest.debianPython(), engine, scripts, services, services, services), Map.of())) {
      Await.until("the engine decides", Duration.ofSeconds(60), () -> gw.get("/p/x").statusCode() == 200);
      assertThat(gw.get("/p/x", "X-Want", "other").body()).isEqualTo("other /x");
      assertThat(gw.get("/p/x").body()).isEqualTo("app /x");
      assertThat(gw.get("/hog/x").statusCode()).as("the loop stopped: the tenant's script failed").isEqualTo(500);
      assertThat(gw.get("/p/y", "X-Want", "other").body()).isEqualTo("other /y");
      assertThat(gw.get("/nosy/x").body()).isEqualTo("refused: PermissionError");
    }
  }
}
