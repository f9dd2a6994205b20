package dev.keystone.engine;

import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code isolation: process}: a tenant (or an isolation group of tenants) gets a supervised engine
 * process of its own, serving a private copy of only its scripts; losing it costs only that
 * tenant. Real engine processes, killed for real.
 */
class ProcessIsolationTest {

  Vertx vertx;
  TestBackend backend;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "b");
  }

  @AfterEach
  void stop() {
    vertx.close();
  }

  static String answer(String name) {
    return "function on_request(req) return respond(200, \"" + name + "\") end\n";
  }

  String config(String... isolated) {
    StringBuilder sb = new StringBuilder("""
        lua_engine:
          enabled: true
          timeout: 2s
          supervise: { sandbox: none }
        tenants:
        """);
    for (String t : isolated) {
      String[] parts = t.split(":"); // name[:group]
      sb.append("  - name: ").append(parts[0]).append('\n')
          .append("    path_prefix: /").append(parts[0]).append("/\n")
          .append("    lua_script: route-").append(parts[0]).append('\n')
          .append("    isolation: process\n");
      if (parts.length > 1) {
        sb.append("    isolation_group: ").append(parts[1]).append('\n');
      }
      sb.append("    services: [{ name: b, url: \"").append(backend.url()).append("\" }]\n");
    }
    return sb.append("""
          - name: shared
            path_prefix: /shared/
            lua_script: route-shared
            services: [{ name: b, url: "%s" }]
        """.formatted(backend.url())).toString();
  }

  static Set<String> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return Set.copyOf(s.map(p -> p.getFileName().toString()).toList());
    }
  }

  @Test
  void eachGroupHasItsOwnEngineWithOnlyItsScripts() throws IOException {
    Map<String, String> scripts = Map.of("route-a", answer("a"), "route-b", answer("b"), "route-c", answer("c"),
        "route-shared", answer("shared"));
    try (TestGateway gw = TestGateway.start(config("a", "b", "c:b"), scripts)) {
      for (String t : List.of("a", "b", "c", "shared")) {
        assertThat(gw.get("/" + t + "/x").body()).as(t).isEqualTo(t);
      }
      Map<String, EngineSupervisor> engines = gw.gateway().isolatedEngines();
      assertThat(engines.keySet()).containsExactly("a", "b");
      long a = engines.get("a").pid();
      long b = engines.get("b").pid();
      assertThat(Set.of(a, b, gw.gateway().supervisedEngine().pid())).hasSize(3);
      io.vertx.core.json.JsonObject status = new io.vertx.core.json.JsonObject(gw.admin("GET", "/api/v1/status").body());
      assertThat(status.getJsonObject("isolated_engines").getJsonObject("a").getLong("pid")).isEqualTo(a);
      assertThat(status.getJsonObject("isolated_engines").getJsonObject("b").getLong("pid")).isEqualTo(b);
      assertThat(gw.admin("GET", "/metrics").body())
          .contains("keystone_isolated_engine_restarts_total{group=\"a\"} 0");
      // The engine of a group sees its own scripts only: not the directory with everyone's.
      assertThat(files(engines.get("a").spec().scripts())).containsExactly("route-a.lua");
      assertThat(files(engines.get("b").spec().scripts())).containsExactlyInAnyOrder("route-b.lua", "route-c.lua");
      // Nor does the shared engine run the isolated tenants' scripts (not even in its warm-up).
      assertThat(files(gw.gateway().supervisedEngine().spec().scripts())).containsExactly("route-shared.lua");

      // Losing a's engine costs a only: the others keep answering while it comes back.
      ProcessHandle.of(a).orElseThrow().destroyForcibly();
      for (int i = 0; i < 20; i++) {
        assertThat(gw.get("/b/x").body()).isEqualTo("b");
        assertThat(gw.get("/shared/x").body()).isEqualTo("shared");
      }
      Await.until("a's engine restarted", () -> engines.get("a").pid() != a && gw.get("/a/x").body().equals("a"));

      // A reload without tenant a stops its engine and removes its scripts' copy.
      Path aScripts = engines.get("a").spec().scripts();
      long aNow = engines.get("a").pid();
      gw.rewrite(config("b", "c:b"));
      assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
      assertThat(gw.gateway().isolatedEngines().keySet()).containsExactly("b");
      assertThat(gw.gateway().isolatedEngines().get("b").pid()).as("b's engine stays").isEqualTo(b);
      Await.until("a's engine process ended", () -> ProcessHandle.of(aNow).map(p -> !p.isAlive()).orElse(true));
      Await.until("a's scripts' copy removed", () -> !Files.exists(aScripts));
      assertThat(gw.get("/b/x").body()).isEqualTo("b");
    }
  }

  @Test
  void processIsolationNeedsASupervisedEngineAndAScript() {
    assertThatThrownBy(() -> new ConfigLoader(k -> null).parse("""
        tenants:
          - name: t
            path_prefix: /t/
            lua_script: x
            isolation: process
            services: [{ name: b, url: "http://127.0.0.1:1" }]
          - name: u
            path_prefix: /u/
            isolation_group: g
            services: [{ name: b, url: "http://127.0.0.1:1" }]
          - name: v
            path_prefix: /v/
            isolation: sandbox
            services: [{ name: b, url: "http://127.0.0.1:1" }]
        """, "c.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("c.yaml:5: tenants[0].isolation: process isolation needs lua_engine.supervise")
        .hasMessageContaining("c.yaml:9: tenants[1].isolation_group: only means something with isolation: process")
        .hasMessageContaining("c.yaml:13: tenants[2].isolation: must be shared or process, got 'sandbox'")
        .hasMessageNotContaining("script_engine");
  }
}
