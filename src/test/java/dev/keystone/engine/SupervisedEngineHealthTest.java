package dev.keystone.engine;

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
 * When the supervisor kills an engine: one that answers nothing (hung), never one that answers
 * the gateway's calls while its health check is slow. Attack round 6 on the Node engine (N6-1):
 * under tenants rebuilding big isolates, the engine's /health took up to 2 s while it kept
 * answering calls; three such checks got it killed, and every tenant's kv with it.
 *
 * <p>The engine here is a small stand-in (a real process on the socket the gateway gives it): it
 * answers calls at once and, after its first seconds, its health check only after 1.5 s.
 */
class SupervisedEngineHealthTest {

  static final String SLOW_HEALTH_ENGINE = """
      'use strict';
      const http = require('http');
      const fs = require('fs');
      const socket = process.argv[process.argv.indexOf('--listen') + 1].slice('unix:'.length);
      const started = Date.now();
      http.createServer((req, res) => {
        const answer = (body) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)); };
        req.resume();
        req.on('end', () => {
          if (req.url.startsWith('/health')) {
            const body = { status: 'healthy', scripts: 1, names: ['x'] };
            if (Date.now() - started < 6000) answer(body); else setTimeout(() => answer(body), 1500);
          } else if (req.url === '/v1/decide') {
            answer({ version: 1, decision: 'continue' });
          } else {
            res.writeHead(404); res.end('{}');
          }
        });
      }).listen(socket);
      """;

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

  @Test
  void anEngineAnsweringCallsIsNotKilledForSlowHealthChecksOneAnsweringNothingIs() throws Exception {
    Path engine = dir.resolve("slow-health.js");
    Files.writeString(engine, SLOW_HEALTH_ENGINE);
    Files.createDirectories(dir.resolve("scripts"));
    Files.writeString(dir.resolve("scripts/x.js"), "// served by the stand-in engine\n");
    String yaml = """
        lua_engine:
          enabled: true
          timeout: 5s
          supervise: { command: [node, "%s"], sandbox: none, scripts: "%s" }
        tenants:
          - name: t
            path_prefix: /t/
            lua_script: x
            services: [ { name: app, url: "%s", health: /health } ]
        """.formatted(engine, dir.resolve("scripts"), app.url());
    try (LogCapture log = LogCapture.of("keystone.engine"); TestGateway gw = TestGateway.start(yaml, Map.of())) {
      Await.until("the stand-in engine answers", Duration.ofSeconds(30), () -> gw.get("/t/x").statusCode() == 200);
      long pid = gw.gateway().supervisedEngine().pid();
      // 6 s of fast health checks, then each one takes 1.5 s (the limit is 1 s), checked every 2 s:
      // for 10 s more, calls keep coming and are answered.
      long until = System.nanoTime() + Duration.ofSeconds(16).toNanos();
      while (System.nanoTime() < until) {
        assertThat(gw.get("/t/x").statusCode()).isEqualTo(200);
        Thread.sleep(50);
      }
      assertThat(log.matching("health checks in a row")).as("no kill while calls are answered").isEmpty();
      assertThat(gw.gateway().supervisedEngine().pid()).isEqualTo(pid);
      // No calls: slow health checks alone are a hung engine.
      Await.until("the engine is killed for its health checks", Duration.ofSeconds(20),
          () -> !log.matching("failed 3 health checks in a row").isEmpty());
    }
  }
}
