package dev.keystone.gateway;

import dev.keystone.testing.Await;
import dev.keystone.testing.GatewayProcess;
import dev.keystone.testing.NodeEngine;
import dev.keystone.testing.TestBackend;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
 * The gateway starts listening only once its supervised engine answers: the first request a
 * client can make is served by the tenant's script. Attack round 7 on the Node engine (N7-4): the
 * proxy listened first, and requests in the 0.3 s before the engine served got a 500 whose error
 * read "engine unix:...: null".
 */
class StartOrderTest {

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
  void theFirstRequestTheListenerAcceptsIsServedByTheTenantsScript() throws Exception {
    Files.createDirectories(dir.resolve("scripts"));
    Files.writeString(dir.resolve("scripts/route.js"), "// served by the stand-in engine\n");
    // An engine that takes 2 s to start, then routes every request to the backend "app".
    Files.writeString(dir.resolve("slow-start.js"), """
        'use strict';
        const http = require('http');
        const socket = process.argv[process.argv.indexOf('--listen') + 1].slice('unix:'.length);
        setTimeout(() => http.createServer((req, res) => {
          req.resume();
          req.on('end', () => {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(req.url.startsWith('/health') ? { status: 'healthy', scripts: 1, names: ['route'] }
              : { version: 1, decision: 'route', target: 'app', backends: ['app'] }));
          });
        }).listen(socket), 2000);
        """);
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
        """.formatted(dir.resolve("slow-start.js"), app.url()));
    int port = freePort();
    int admin = freePort();
    try (GatewayProcess gw = GatewayProcess.start(dir, List.of(), "run", "--config", "config.yaml",
        "--listen", "127.0.0.1:" + port, "--admin", "127.0.0.1:" + admin)) {
      Await.until("the gateway listens", Duration.ofSeconds(60), () -> accepts(port));
      HttpResponse<String> first = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/t/x")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(first.statusCode()).as(first.body() + "\n" + gw.output()).isEqualTo(200);
    }
  }

  static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
