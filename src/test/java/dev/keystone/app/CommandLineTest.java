package dev.keystone.app;

import dev.keystone.testing.GatewayProcess;
import dev.keystone.testing.TestBackend;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The gateway as users run it: its own process, flags, signals and exit codes. */
class CommandLineTest {

  /** One tenant on /t/ with one service; %s is its URL. */
  static final String ONE_TENANT = """
      tenants:
        - name: t
          path_prefix: /t/
          services: [{ name: x, url: "%s", health: /health }]
      """;

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static final Path COMPAT = Path.of("src/test/resources/compat").toAbsolutePath();

  static HttpResponse<String> get(int port, String path, String host, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(20));
    if (host != null) {
      b.header("Host", host);
    }
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void validateAcceptsTheOriginalFilesAndRejectsBadOnesWithLines(@TempDir Path dir) throws Exception {
    GatewayProcess.Result ok = GatewayProcess.run(dir, "validate", COMPAT.resolve("v1.3-lua-engine.yaml").toString());
    assertThat(ok.exitCode()).as(ok.output()).isZero();
    assertThat(ok.output()).contains("OK, 3 tenant(s); the scripts are the engine's at [http://localhost:8081]:"
        + " lua_script names are not checked here");
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "tenants:\n  - name: a\n    path_prefix: nope\n    servces: []\n");
    GatewayProcess.Result r = GatewayProcess.run(dir, "validate", bad.toString());
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.output()).contains(bad + ":3: tenants[0].path_prefix: invalid path_prefix 'nope'")
        .contains(bad + ":4: tenants[0].servces: unknown key (did you mean 'services'?)");
  }

  /**
   * Attack round 5 on the Node engine (N5-8): for an engine that is not Keystone's own, validate
   * can only look for a script's file (the engine decides what it serves, at its start and at each
   * reload); it said a plain "OK", as if the names had been checked like the built-in engine's.
   */
  @Test
  void validateSaysWhatItCouldNotCheckForAnotherEngine(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("scripts"));
    Files.writeString(dir.resolve("scripts/ghost.lua"), "function on_request(req) end\n");
    Path config = dir.resolve("node.yaml");
    Files.writeString(config, """
        lua_engine:
          enabled: true
          supervise:
            command: [node, engines/node/engine.js]
            scripts: scripts
        tenants:
          - name: a
            path_prefix: /a/
            lua_script: ghost
        """);
    GatewayProcess.Result r = GatewayProcess.run(dir, "validate", config.toString());
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains(config + ": OK, 1 tenant(s); the engine [node, engines/node/engine.js] is not Keystone's own:"
        + " a lua_script was only looked for as a file (NAME, NAME.js, NAME.lua or NAME.py); the engine checks what it serves"
        + " when it starts and at each reload");
  }

  @Test
  void scriptTestPrintsTheDecision(@TempDir Path dir) throws Exception {
    Path script = Path.of("examples/scripts/canary-header.lua").toAbsolutePath();
    Path backends = dir.resolve("backends.yaml");
    Files.writeString(backends, """
        - { name: stable, url: "http://10.0.0.5", labels: { version: stable } }
        - { name: canary-42, url: "http://10.0.0.9", labels: { version: canary } }
        """);
    GatewayProcess.Result canary = GatewayProcess.run(dir, "script", "test", script.toString(),
        "--request", "GET /orders?x=1", "-H", "X-Deploy-ID: 42", "--backends", backends.toString());
    assertThat(canary.exitCode()).as(canary.output()).isZero();
    assertThat(canary.output()).contains("decision: route_to canary-42 -> [canary-42]");
    GatewayProcess.Result stable = GatewayProcess.run(dir, "script", "test", script.toString(),
        "--request", "GET /orders", "--backends", backends.toString());
    assertThat(stable.output()).contains("decision: route_to {version=stable} -> [stable]");

    Path maintenance = Path.of("examples/scripts/maintenance.lua").toAbsolutePath();
    GatewayProcess.Result page = GatewayProcess.run(dir, "script", "test", maintenance.toString());
    assertThat(page.output()).contains("decision: respond 503").contains("Retry-After: 600");

    Path broken = dir.resolve("broken.lua");
    Files.writeString(broken, "function on_request(req)\n  while true do end\nend\n");
    GatewayProcess.Result loop = GatewayProcess.run(dir, "script", "test", broken.toString());
    assertThat(loop.exitCode()).isEqualTo(1);
    // Which limit ends the loop first depends on how fast a cold JVM runs it (under load in CI
    // the 50 ms deadline came first): either is the limit failure this asserts.
    assertThat(loop.output()).containsPattern("script failed \\(limit\\): " + java.util.regex.Pattern.quote(broken + ":2: ")
        + "(instruction budget|deadline of 50 ms passed)");

    Files.writeString(broken, "function on_request(req)\n  return (\nend\n");
    GatewayProcess.Result syntax = GatewayProcess.run(dir, "script", "test", broken.toString());
    assertThat(syntax.exitCode()).isEqualTo(1);
    assertThat(syntax.output()).contains(broken + ":3:");
    assertThat(GatewayProcess.run(dir, "script", "nope").exitCode()).isEqualTo(2);
  }

  @Test
  void versionAndUsage(@TempDir Path dir) {
    GatewayProcess.Result v = GatewayProcess.run(dir, "--version");
    assertThat(v.exitCode()).isZero();
    assertThat(v.output()).startsWith("keystone ");
    GatewayProcess.Result bad = GatewayProcess.run(dir, "--no-such-flag");
    assertThat(bad.exitCode()).isEqualTo(2);
    assertThat(bad.output()).contains("unknown argument '--no-such-flag'").contains("usage:");
  }

  @Test
  void embeddedDefaultServesDemoTenants(@TempDir Path dir) throws Exception {
    try (GatewayProcess p = GatewayProcess.start(dir, List.of(), "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0")) {
      int port = p.awaitListening();
      dev.keystone.testing.Await.until("the hints are printed", () -> p.output().contains("Try it:"));
      assertThat(p.output()).contains("config: embedded default");
      // the README's HTTPS step, exactly as printed: curl trusting the local CA, over HTTP/2
      java.util.regex.Matcher https = java.util.regex.Pattern.compile("  (curl --cacert (\\S+) (https://api\\.demo\\.localhost:\\d+/users))")
          .matcher(p.output());
      assertThat(https.find()).as("the HTTPS hint in:%n%s", p.output()).isTrue();
      assertThat(https.group(2)).isEqualTo("keystone-data/local-ca/ca.pem");
      Process curl = new ProcessBuilder("curl", "-sS", "--cacert", https.group(2), "-w", "\nHTTP/%{http_version}", https.group(3))
          .directory(dir.toFile()).redirectErrorStream(true).start();
      String answer = new String(curl.getInputStream().readAllBytes());
      assertThat(curl.waitFor()).as(answer).isZero();
      assertThat(answer).contains("\"backend\" : \"blue\"").contains("\"path\" : \"/api/users\"").endsWith("HTTP/2");
      HttpResponse<String> web = get(port, "/web/hello", null);
      assertThat(web.statusCode()).isEqualTo(200);
      assertThat(web.body()).contains("\"path\" : \"/hello\"");
      assertThat(get(port, "/users", "api.demo.localhost").body()).contains("\"path\" : \"/api/users\"");
      assertThat(get(port, "/v2/users", "api.demo.localhost").body()).contains("\"backend\" : \"green\"");
      dev.keystone.testing.Await.until("demo-canary healthy", () -> {
        try {
          return get(port, "/health", null).body().contains("\"demo-canary\":\"2/2 healthy\"");
        } catch (Exception e) {
          return false;
        }
      });
      assertThat(get(port, "/canary/x", null, "X-Canary", "yes").body())
          .contains("\"backend\" : \"green\"").contains("\"routed_by\" : \"canary.lua: canary\"");
      assertThat(get(port, "/canary/x", null).body()).contains("\"backend\" : \"blue\"");
      assertThat(get(port, "/health", null).body()).contains("\"status\":\"healthy\"");
    }
  }

  @Test
  void originalFlagsAndConfigYamlInTheWorkingDirectory(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestBackend backend = new TestBackend(vertx, "orig")) {
      Files.writeString(dir.resolve("config.yaml"), """
          tenants:
            - name: orig
              path_prefix: /o/
              services: [{ name: orig, url: "%s", health: /health }]
          """.formatted(backend.url()));
      try (GatewayProcess p = GatewayProcess.start(dir, List.of(), "-addr", "127.0.0.1:0")) {
        int port = p.awaitListening();
        assertThat(get(port, "/o/x", null).body()).isEqualTo("orig /x");
      }
      Path other = dir.resolve("other.yaml");
      Files.copy(dir.resolve("config.yaml"), other);
      try (GatewayProcess p = GatewayProcess.start(dir, List.of(), "-config", other.toString(), "-addr", "127.0.0.1:0")) {
        int port = p.awaitListening();
        assertThat(p.output()).contains("config: " + other);
        assertThat(get(port, "/o/y", null).body()).isEqualTo("orig /y");
      }
    } finally {
      vertx.close();
    }
  }

  @Test
  void aSecondStartReusesTheParsedConfigUntilTheFileChanges(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestBackend a = new TestBackend(vertx, "a"); TestBackend b = new TestBackend(vertx, "b")) {
      Path config = dir.resolve("gw.yaml");
      String template = ONE_TENANT;
      Files.writeString(config, template.formatted(a.url()));
      Path entry = dir.resolve(".gw.yaml.keystone-cache");
      List<String> jvm = List.of("-Dkeystone.config-cache.build=cli-test");
      try (GatewayProcess p = GatewayProcess.start(dir, jvm, "--config", config.toString(), "--listen", "127.0.0.1:0")) {
        int port = p.awaitListening();
        assertThat(get(port, "/t/1", null).body()).isEqualTo("a /1");
        dev.keystone.testing.Await.until("the parsed config is stored beside the file", () -> Files.exists(entry));
        assertThat(p.output()).doesNotContain("parsed form reused");
      }
      try (GatewayProcess p = GatewayProcess.start(dir, jvm, "--config", config.toString(), "--listen", "127.0.0.1:0")) {
        int port = p.awaitListening();
        assertThat(p.output()).contains("parsed form reused from " + entry);
        assertThat(get(port, "/t/2", null).body()).isEqualTo("a /2");
      }
      Files.writeString(config, template.formatted(b.url()));
      try (GatewayProcess p = GatewayProcess.start(dir, jvm, "--config", config.toString(), "--listen", "127.0.0.1:0")) {
        int port = p.awaitListening();
        assertThat(p.output()).doesNotContain("parsed form reused");
        assertThat(get(port, "/t/3", null).body()).isEqualTo("b /3");
        dev.keystone.testing.Await.until("the edited config is stored", () -> {
          try {
            return Files.getLastModifiedTime(entry).compareTo(Files.getLastModifiedTime(config)) >= 0;
          } catch (java.io.IOException e) {
            return false;
          }
        });
      }
      try (GatewayProcess p = GatewayProcess.start(dir, jvm, "--config", config.toString(), "--listen", "127.0.0.1:0",
          "--no-config-cache")) {
        int port = p.awaitListening();
        assertThat(get(port, "/t/4", null).body()).isEqualTo("b /4");
        assertThat(p.output()).doesNotContain("parsed form reused");
      }
    } finally {
      vertx.close();
    }
  }

  @Test
  void aConfigReplacedByAHugeFileIsRefusedAndTheGatewayKeepsServing(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestBackend a = new TestBackend(vertx, "a"); TestBackend b = new TestBackend(vertx, "b")) {
      Path config = dir.resolve("gw.yaml");
      String template = ONE_TENANT;
      Files.writeString(config, template.formatted(a.url()));
      // the shipped JVM gives up on an OutOfMemoryError; the file watcher and the reload read
      // the whole file, so a 200 MB file ended the gateway
      List<String> jvm = List.of("-Xmx96m", "-XX:+ExitOnOutOfMemoryError");
      try (GatewayProcess p = GatewayProcess.start(dir, jvm, "--config", config.toString(), "--listen", "127.0.0.1:0")) {
        int port = p.awaitListening();
        assertThat(get(port, "/t/1", null).body()).isEqualTo("a /1");
        Path huge = dir.resolve("huge.tmp");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(huge.toFile(), "rw")) {
          f.setLength(200L << 20); // sparse: no disk used
        }
        Files.move(huge, config, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        p.signal("HUP");
        dev.keystone.testing.Await.until("the reload refuses the file", () -> p.output().contains("above the limit of"));
        assertThat(get(port, "/t/2", null).body()).isEqualTo("a /2");
        Files.writeString(dir.resolve("next.tmp"), template.formatted(b.url()));
        Files.move(dir.resolve("next.tmp"), config, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        dev.keystone.testing.Await.until("the next valid file is applied by the watcher", () -> {
          try {
            return get(port, "/t/3", null).body().equals("b /3");
          } catch (Exception e) {
            return false;
          }
        });
        assertThat(p.output()).doesNotContain("OutOfMemoryError");
      }
    } finally {
      vertx.close();
    }
  }

  @Test
  void aReloadKeepsTheAdminAddressGivenOnTheCommandLineWithoutWarning(@TempDir Path dir) throws Exception {
    // Attack s12-F8: every reload of a gateway started with --admin warned that admin.listen
    // "applies after a restart", comparing the file's address with the command line's.
    Vertx vertx = Vertx.vertx();
    try (TestBackend a = new TestBackend(vertx, "a"); TestBackend b = new TestBackend(vertx, "b")) {
      Path config = dir.resolve("gw.yaml");
      Files.writeString(config, ONE_TENANT.formatted(a.url()));
      try (GatewayProcess p = GatewayProcess.start(dir, List.of(), "--config", config.toString(), "--listen", "127.0.0.1:0",
          "--admin", "127.0.0.1:0")) {
        int port = p.awaitListening();
        Files.writeString(config, ONE_TENANT.formatted(b.url()));
        p.signal("HUP");
        dev.keystone.testing.Await.until("the reload applied", () -> p.output().contains("config version 2 applied"));
        assertThat(get(port, "/t/1", null).body()).isEqualTo("b /1");
        assertThat(p.output()).doesNotContain("admin.listen and admin.enabled apply after a restart");
      }
    } finally {
      vertx.close();
    }
  }

  @Test
  void sighupReloadsAndSigtermDrainsThenExitsZero(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestBackend a = new TestBackend(vertx, "a"); TestBackend b = new TestBackend(vertx, "b")) {
      Path config = dir.resolve("gw.yaml");
      String template = """
          timeouts: { shutdown: 20s }
          tenants:
            - name: t
              path_prefix: /t/
              services: [{ name: x, url: "%s", health: /health }]
          """;
      Files.writeString(config, template.formatted(a.url()));
      try (GatewayProcess p = GatewayProcess.start(dir, List.of(), "--config", config.toString(), "--listen", "127.0.0.1:0")) {
        int port = p.awaitListening();
        assertThat(get(port, "/t/1", null).body()).isEqualTo("a /1");

        Files.writeString(config, template.formatted(b.url()));
        p.signal("HUP");
        dev.keystone.testing.Await.until("SIGHUP applied the new config", () -> {
          try {
            return get(port, "/t/2", null).body().equals("b /2");
          } catch (Exception e) {
            return false;
          }
        });

        int seenBefore = b.requests();
        Promise<Void> release = Promise.promise();
        b.handler(req -> release.future().onComplete(v -> req.response().end("slow done")));
        CompletableFuture<HttpResponse<String>> inFlight = HTTP.sendAsync(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/t/slow")).build(),
            HttpResponse.BodyHandlers.ofString());
        dev.keystone.testing.Await.until("the slow request reached the backend", () -> b.requests() > seenBefore);
        p.signal("TERM");
        dev.keystone.testing.Await.until("shutdown started", () -> p.output().contains("shutting down"));
        vertx.setTimer(300, t -> release.complete());
        HttpResponse<String> r = inFlight.get(20, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("slow done");
        assertThat(p.waitForExit(Duration.ofSeconds(30))).as(p.output()).isZero();
      }
    } finally {
      vertx.close();
    }
  }
}
