package dev.keystone.gateway;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import dev.keystone.testing.TrafficLoad;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Stopping and reloading without failing requests: a graceful stop drains the proxy before the
 * supervised engine goes, a replaced engine takes traffic only once it answers, settings that
 * need a restart really wait for one, and the original reload endpoint is not an open door.
 */
class LifecycleTest {

  static final String SCRIPT = """
      function on_request(req)
        if req.headers["X-Canary"] == "yes" then return route_to("canary") end
        return route_to("stable")
      end
      """;

  Vertx vertx;
  TestBackend stable;
  TestBackend canary;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    stable = new TestBackend(vertx, "stable");
    canary = new TestBackend(vertx, "canary");
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  private String scripted(String top, String supervise) {
    return top + """
        lua_engine:
          enabled: true
          timeout: 2s
          supervise: %s
        tenants:
          - name: s
            path_prefix: /s/
            lua_script: router
            on_script_error: fail_closed
            health_interval: 100ms
            services:
              - { name: stable, url: "%s", health: /health }
              - { name: canary, url: "%s", health: /health }
        """.formatted(supervise, stable.url(), canary.url());
  }

  private boolean scriptRoutes() {
    for (int i = 0; i < 10; i++) {
      if (!gw.get("/s/x", "X-Canary", "yes").body().equals("canary /x")) {
        return false;
      }
    }
    return true;
  }

  @Test
  void aGracefulStopDrainsTheProxyBeforeItStopsTheEngine() throws Exception {
    gw = TestGateway.start(scripted("timeouts: { shutdown_delay: 3s }\n", "{ sandbox: none }"), Map.of("router", SCRIPT));
    Await.until("the engine decides", this::scriptRoutes);
    ProcessHandle engine = ProcessHandle.of(gw.gateway().supervisedEngine().pid()).orElseThrow();
    List<HttpServerRequest> held = new CopyOnWriteArrayList<>();
    canary.handler(held::add);
    CompletableFuture<HttpResponse<String>> inFlight = CompletableFuture.supplyAsync(() -> gw.get("/s/held", "X-Canary", "yes"));
    Await.until("a request in flight", () -> !held.isEmpty());

    var stopping = gw.gateway().shutdown();
    // Readiness says "stop sending", but for shutdown_delay the gateway still serves new
    // connections, scripts included: the load balancer has not noticed yet.
    HttpResponse<String> late = TestGateway.plainClient().send(HttpRequest.newBuilder(URI.create(gw.base() + "/s/late")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(late.statusCode()).isEqualTo(200);
    assertThat(late.body()).isEqualTo("stable /late");
    assertThat(engine.isAlive()).as("the engine outlives the requests that need it").isTrue();
    held.get(0).response().end("finished");
    assertThat(inFlight.get(20, TimeUnit.SECONDS).body()).isEqualTo("finished");
    Await.result(stopping);
    assertThat(engine.isAlive()).as("and is stopped last").isFalse();
    gw = null;
  }

  @Test
  void aReplacedEngineTakesTrafficOnlyOnceItAnswers() throws Exception {
    gw = TestGateway.start(scripted("", "{ sandbox: none }"), Map.of("router", SCRIPT));
    Await.until("the engine decides", this::scriptRoutes);
    long firstPid = gw.gateway().supervisedEngine().pid();
    TrafficLoad load = TrafficLoad.start(2, Duration.ofMillis(5), (client, i) -> gw.get("/s/x", "X-Canary", "yes"));
    try {
      load.awaitMore("traffic through the first engine", 20);
      Path file = gw.file();
      // 320 MiB: a new limit, with room for a cold JVM (160 MiB was slow to answer on CI)
      gw.rewrite(Files.readString(file).replace("supervise: { sandbox: none }", "supervise: { sandbox: none, memory: 320m }"));
      var reloaded = gw.gateway().reloadFromFile();
      assertThat(reloaded.errors()).isEmpty();
      assertThat(reloaded.applied()).isTrue();
      Await.until("the new engine is in charge", Duration.ofSeconds(30),
          () -> gw.gateway().supervisedEngine().pid() != firstPid);
      load.awaitMore("traffic through the new engine", 50);
    } finally {
      assertThat(load.stop()).as("fail_closed tenant: not one request saw an engine that was not ready").isEmpty();
    }
  }

  @Test
  void theOriginalReloadEndpointNeedsTheAdminTokenWhenThereIsAnAdminListener() {
    gw = TestGateway.start("""
        tenants:
          - name: t
            path_prefix: /t/
            services: [{ name: a, url: "%s" }]
        """.formatted(stable.url()));
    HttpResponse<String> open = gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/reload")).POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(open.statusCode()).as("loopback is no credential behind a local front proxy").isEqualTo(401);
    assertThat(gw.gateway().snapshot().version()).isEqualTo(1);
    HttpResponse<String> withToken = gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/reload")).POST(HttpRequest.BodyPublishers.noBody()),
        "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
    assertThat(withToken.statusCode()).isEqualTo(200);
    assertThat(gw.gateway().snapshot().version()).isEqualTo(2);
  }

  @Test
  void aLoweredUriLimitWaitsForARestartAsTheWarningSays() throws Exception {
    gw = TestGateway.start("""
        limits: { max_uri_length: 4096 }
        tenants:
          - name: t
            path_prefix: /t/
            services: [{ name: a, url: "%s" }]
        """.formatted(stable.url()));
    String longPath = "/t/" + "x".repeat(1000);
    assertThat(gw.get(longPath).statusCode()).isEqualTo(200);
    gw.rewrite(Files.readString(gw.file()).replace("max_uri_length: 4096", "max_uri_length: 512"));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    assertThat(gw.get(longPath).statusCode()).as("the running limit stays until a restart").isEqualTo(200);
    assertThat(gw.gateway().config().limits().maxUriLength()).isEqualTo(4096);
  }

  /** A port nobody listens on now (taken and released). */
  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Whether something accepts connections on the loopback port. */
  private static boolean listening(int port) {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private Throwable startFails(int proxyPort, int adminPort) throws Exception {
    String yaml = """
        listen: 127.0.0.1:%d
        admin: { listen: "127.0.0.1:%d" }
        tenants:
          - name: a
            path_prefix: /a/
            services: [{ name: s, url: "%s" }]
        """.formatted(proxyPort, adminPort, stable.url());
    var config = new dev.keystone.config.ConfigLoader().parse(yaml, "test.yaml");
    var started = Gateway.start(config, null, new dev.keystone.config.ConfigLoader(),
        new GatewayOptions(1, "test", java.time.Clock.systemUTC())).toCompletionStage().toCompletableFuture();
    try {
      started.get(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause();
    }
    started.get().close();
    throw new AssertionError("the gateway started on a port that was taken");
  }

  @Test
  void whenTheProxyCannotListenTheAdminListenerDoesNotStayOpen() throws Exception {
    int adminPort = freePort();
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Throwable cause = startFails(taken.getLocalPort(), adminPort);
      assertThat(cause).hasMessageContaining("in use");
      // the two listeners start together: the admin one, which did start, is closed again, and
      // its token file goes with it (keystone status would send it to whoever gets the port: s11-F1)
      Await.until("admin port closed", () -> !listening(adminPort));
      assertThat(dev.keystone.admin.AdminToken.defaultFile(adminPort)).doesNotExist();
    }
  }

  @Test
  void whenTheAdminListenerCannotListenTheProxyDoesNotStayOpen() throws Exception {
    int proxyPort = freePort();
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Throwable cause = startFails(proxyPort, taken.getLocalPort());
      assertThat(cause).hasMessageContaining("admin listener on 127.0.0.1:" + taken.getLocalPort());
      Await.until("proxy port closed", () -> !listening(proxyPort));
    }
  }
}
