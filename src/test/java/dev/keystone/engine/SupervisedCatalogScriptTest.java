package dev.keystone.engine;

import dev.keystone.catalog.Catalog;
import dev.keystone.catalog.CatalogFixture;
import dev.keystone.catalog.CatalogSource;
import dev.keystone.catalog.Installed;
import dev.keystone.gateway.GatewayOptions;
import dev.keystone.model.ReloadResult;
import dev.keystone.testing.Await;
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
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A catalog entry's JavaScript version run by engines the gateway supervises: in a tenant's own
 * engine ({@code isolation: process}) and in the shared one ({@code script_engine: remote}), each
 * given the installed file as NAME@VERSION.js and the tenant's params with every call; next to a
 * tenant running the same entry's Lua version embedded.
 */
class SupervisedCatalogScriptTest {

  @TempDir
  Path dir;
  @TempDir
  Path catalog;
  Vertx vertx;
  TestBackend app;

  @BeforeEach
  void start() throws Exception {
    NodeEngine.ensureInstalled();
    vertx = Vertx.vertx();
    app = new TestBackend(vertx, "app");
    app.handler(req -> req.response().end("limit=" + req.getHeader("X-Limit")));
    Path entry = Files.createDirectories(catalog.resolve("echo-params/1.0.0"));
    Files.writeString(entry.resolve("entry.json"), """
        { "name": "echo-params", "version": "1.0.0", "description": "tells the backend its limit parameter",
          "author": "tests", "licence": "MIT", "scripts": { "lua": "script.lua", "js": "script.js" },
          "params": { "type": "object", "properties": { "limit": { "type": "integer", "default": 1 } } },
          "tests": "tests.json" }
        """);
    Files.writeString(entry.resolve("script.lua"), """
        function on_request(req)
          req.set_header("X-Limit", tostring(req.params.limit) .. "-lua")
          return route_to("app")
        end
        """);
    Files.writeString(entry.resolve("script.js"), """
        'use strict';
        function on_request(req) {
          req.set_header('X-Limit', String(req.params.limit) + '-js');
          return route_to('app');
        }
        """);
    Files.writeString(entry.resolve("tests.json"), """
        { "tests": [ { "name": "limit", "params": { "limit": 4 }, "backends": [ { "name": "app" } ],
          "requests": [ { "path": "/", "expect": { "decision": "route", "edits": { "headers": { "X-Limit": "4-lua" } } } } ] } ] }
        """);
    CatalogFixture.index(catalog, null);
    new Installed(dir).install(new Catalog(CatalogSource.open(catalog.toString()), null).fetch("echo-params", null), catalog.toString(),
        java.util.List.of("js", "lua"), ""); // as if tested on both: the test runs both versions
    Files.createDirectories(dir.resolve("scripts"));
  }

  @AfterEach
  void stop() {
    vertx.close();
  }

  private String config(int isolatedLimit) {
    String engine = Path.of("engines/node/engine.js").toAbsolutePath().toString();
    String service = "    services: [ { name: app, url: \"" + app.url() + "\" } ]\n";
    return TestGateway.withTestListeners("""
        lua_engine:
          enabled: true
          timeout: 2s
          supervise: { command: [node, "%s"], sandbox: none, scripts: scripts }
        tenants:
          - name: own
            path_prefix: /own/
            isolation: process
            script: { catalog: echo-params@1.0.0, language: js, params: { limit: %d } }
        %s
          - name: shared
            path_prefix: /shared/
            script_engine: remote
            script: { catalog: echo-params, language: js, params: { limit: 9 } }
        %s
          - name: embedded
            path_prefix: /embedded/
            script: { catalog: echo-params, params: { limit: 3 } }
        %s
        """.formatted(engine, isolatedLimit, service, service, service));
  }

  @Test
  void theEntrysJavaScriptRunsInSupervisedEnginesWithEachTenantsParams() throws Exception {
    Path file = Files.writeString(dir.resolve("keystone.yaml"), config(7));
    try (TestGateway gw = TestGateway.startFile(file, Map.of(), new GatewayOptions(2, "test", Clock.systemUTC()))) {
      Await.until("the engines answer", Duration.ofSeconds(30), () -> gw.get("/own/x").statusCode() == 200);
      assertThat(gw.get("/own/x").body()).isEqualTo("limit=7-js");
      assertThat(gw.get("/shared/x").body()).isEqualTo("limit=9-js");
      assertThat(gw.get("/embedded/x").body()).isEqualTo("limit=3-lua");
      // new params on a reload reach the same engine with the next call
      Files.writeString(file, config(11));
      ReloadResult r = gw.gateway().reloadFromFile();
      assertThat(r.errors()).isEmpty();
      assertThat(gw.get("/own/x").body()).isEqualTo("limit=11-js");
      // an installed file changed behind the lock file's back: refused, the running config stays
      Path js = dir.resolve("catalog-scripts/echo-params@1.0.0/script.js");
      Files.writeString(js, Files.readString(js).replace("'-js'", "'-evil'"));
      ReloadResult tampered = gw.gateway().reloadFromFile();
      assertThat(tampered.applied()).isFalse();
      assertThat(String.join("\n", tampered.errors())).contains("echo-params@1.0.0: content does not match its SHA-256");
      assertThat(gw.get("/own/x").body()).isEqualTo("limit=11-js");
    }
  }

  @Test
  void anEntryFileEditedAfterTheLoadIsNotGivenToAnEngine() throws Exception {
    // The engine's copy is made after the config loaded (and checked the file): a file swapped in
    // between must not reach the engine. Loaded here, edited, then handed to a starting gateway.
    Path file = Files.writeString(dir.resolve("keystone.yaml"), config(7));
    dev.keystone.config.ConfigLoader loader = new dev.keystone.config.ConfigLoader();
    dev.keystone.config.GatewayConfig loaded = loader.load(file);
    Path js = dir.resolve("catalog-scripts/echo-params@1.0.0/script.js");
    Files.writeString(js, Files.readString(js).replace("'-js'", "'-evil'"));
    Throwable failed = null;
    try {
      dev.keystone.gateway.Gateway g = Await.result(dev.keystone.gateway.Gateway.start(loaded.withListen(
          dev.keystone.config.ListenAddress.parse("127.0.0.1:0")).withAdminListen(dev.keystone.config.ListenAddress.parse("127.0.0.1:0")),
          file, loader, new GatewayOptions(2, "test", Clock.systemUTC())));
      Await.result(g.close());
    } catch (Throwable t) {
      failed = t;
    }
    assertThat(failed).isNotNull();
    assertThat(String.valueOf(failed)).contains("catalog entry echo-params@1.0.0) changed after the config was loaded: not given to the engine");
  }
}
