package dev.keystone.gateway;

import dev.keystone.model.ReloadResult;
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
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reload that replaces the supervised engine waits for the new one within one deadline (20 s)
 * for everything it asks: that it answers, which scripts fail, which it serves. CI saw a cold
 * engine (a JVM in a 160 MiB cgroup on a starved host) list its scripts in more than the 5 s
 * that one step had, and the reload was refused although most of its time was left.
 */
class EngineReadinessTest {

  /**
   * An engine that answers its health at once and lists its scripts 6 s late while the file
   * named by its first argument exists (a cold, slow engine), on the unix socket it is given.
   */
  static final String SLOW_ENGINE = """
      import json, os, socketserver, sys, time
      from http.server import BaseHTTPRequestHandler
      marker = sys.argv[1]
      listen = sys.argv[sys.argv.index('--listen') + 1][len('unix:'):]
      class H(BaseHTTPRequestHandler):
          protocol_version = 'HTTP/1.1'
          def log_message(self, *a):
              pass
          def address_string(self):
              return 'unix'
          def do_GET(self):
              if self.path.startswith('/health?scripts=1'):
                  if os.path.exists(marker):
                      time.sleep(6)
                  body = {'status': 'ok', 'names': ['route']}
              else:
                  body = {'status': 'ok'}
              data = json.dumps(body).encode()
              self.send_response(200)
              self.send_header('Content-Type', 'application/json')
              self.send_header('Content-Length', str(len(data)))
              self.end_headers()
              self.wfile.write(data)
      class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
          daemon_threads = True
      server = S(listen, H)
      print('slow engine serving on unix:' + listen, flush=True)
      server.serve_forever()
      """;

  @TempDir
  Path dir;
  Vertx vertx;
  TestBackend app;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    app = new TestBackend(vertx, "app");
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  @Test
  void aNewEngineSlowToListItsScriptsIsWaitedForWithinTheReloadsDeadline() throws Exception {
    Path engine = dir.resolve("slow_engine.py");
    Files.writeString(engine, SLOW_ENGINE);
    Path slow = dir.resolve("slow");
    gw = TestGateway.start("""
        lua_engine:
          enabled: true
          timeout: 2s
          supervise: { command: [python3, "%s", "%s"], sandbox: none, scripts: scripts }
        tenants:
          - name: t
            path_prefix: /t/
            lua_script: route
            services: [{ name: app, url: "%s" }]
        """.formatted(engine, slow, app.url()), Map.of("route", "-- listed by the engine"));
    long firstPid = gw.gateway().supervisedEngine().pid();
    assertThat(firstPid).isPositive();

    Files.writeString(slow, "");
    gw.rewrite(Files.readString(gw.file()).replace("sandbox: none", "sandbox: none, memory: 320m"));
    ReloadResult r = gw.gateway().reloadFromFile();
    assertThat(r.errors()).isEmpty();
    assertThat(r.applied()).isTrue();
    assertThat(gw.gateway().supervisedEngine().pid()).isNotEqualTo(firstPid).isPositive();
  }
}
