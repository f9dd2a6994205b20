package dev.keystone.gateway;

import dev.keystone.model.ReloadResult;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import dev.keystone.testing.TrafficLoad;
import dev.keystone.model.BackendHealth;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Hot reload: validated first, swapped atomically, nothing in flight dropped. */
class ReloadTest {

  static final String TEMPLATE = """
      tenants:
        - name: t
          path_prefix: /t/
          health_interval: %s
          services: [{ name: s, url: "%s", health: /health }]
        - name: ws
          path_prefix: /ws/
          services: [{ name: ws, url: "http://127.0.0.1:%d" }]
      """;

  Vertx vertx;
  TestBackend a;
  TestBackend b;
  int wsPort;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    a = new TestBackend(vertx, "a");
    b = new TestBackend(vertx, "b");
    wsPort = vertx.createHttpServer().webSocketHandler(ws -> ws.handler(buf -> ws.writeTextMessage("echo:" + buf)))
        .listen(0, "127.0.0.1").await().actualPort();
    gw = TestGateway.start(TEMPLATE.formatted("1h", a.url(), wsPort));
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  String config(String interval, TestBackend target) {
    return TEMPLATE.formatted(interval, target.url(), wsPort);
  }

  @Test
  void aFileChangedWhileTheGatewayStartedIsReloaded() throws Exception {
    // The watcher compares the file with the bytes the gateway was started on, not with the file
    // as it read when the watcher was made: an edit between the two was never applied.
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("keystone-reload");
    java.nio.file.Path file = dir.resolve("gw.yaml");
    String before = dev.keystone.testing.TestGateway.withTestListeners(config("1h", a));
    java.nio.file.Files.writeString(file, before);
    dev.keystone.config.ConfigLoader loader = new dev.keystone.config.ConfigLoader();
    dev.keystone.config.GatewayConfig started = loader.load(file);
    java.nio.file.Files.writeString(file, dev.keystone.testing.TestGateway.withTestListeners(config("1h", b)));
    Gateway g = dev.keystone.testing.Await.result(Gateway.start(Gateway.newVertx(1), started, file,
        before.getBytes(java.nio.charset.StandardCharsets.UTF_8), loader, new GatewayOptions(1, "test", java.time.Clock.systemUTC())));
    try {
      Await.until("the edit made during the start is applied", () -> g.snapshot().version() == 2);
      assertThat(g.snapshot().tenants().get(0).pool().backends().get(0).url()).isEqualTo(b.url());
    } finally {
      dev.keystone.testing.Await.result(g.close());
    }
  }

  @Test
  void aConfigReplacedByAFifoIsRefusedNotWaitedOn() throws Exception {
    // Attack s12-F3: the reload opened the fifo and waited for a writer for ever.
    java.nio.file.Path fifo = gw.file().resolveSibling("fifo");
    assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
    java.nio.file.Files.delete(gw.file());
    java.nio.file.Files.createSymbolicLink(gw.file(), fifo);
    ReloadResult r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60),
        () -> gw.gateway().reloadFromFile());
    assertThat(r.applied()).isFalse();
    assertThat(r.errors()).singleElement().asString().contains("not a regular file");
    assertThat(gw.get("/t/x").body()).isEqualTo("a /x");
  }

  @Test
  void aFileThatIsNotUtf8IsRejectedAndTheRunningConfigKept() throws Exception {
    // The name of the backend's tenant in Latin-1: byte 0xE9 is not UTF-8. A reload read it as
    // U+FFFD and applied a tenant named "caf\uFFFD" nobody wrote; a start refused the same file.
    byte[] latin1 = config("1h", b).replace("name: t\n", "name: caf\u00e9\n")
        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    java.nio.file.Files.write(gw.file(), latin1);
    ReloadResult r = gw.gateway().reloadFromFile();
    assertThat(r.applied()).isFalse();
    assertThat(r.errors()).hasSize(1);
    assertThat(r.errors().get(0)).contains(":2: ").contains("not UTF-8 text: byte 0xe9");
    assertThat(gw.gateway().snapshot().version()).isEqualTo(1);
    assertThat(gw.get("/t/x").body()).isEqualTo("a /x");
  }

  @Test
  void reloadUnderTrafficFailsNoRequest() throws Exception {
    TrafficLoad load = TrafficLoad.start(3, (client, i) -> gw.get("/t/n" + i));
    long version = 1;
    for (int i = 0; i < 10; i++) {
      TestBackend target = i % 2 == 0 ? b : a;
      gw.rewrite(config("1h", target));
      ReloadResult r = gw.gateway().reloadFromFile();
      assertThat(r.applied()).isTrue();
      // one version more, or two: the file watcher may have applied the edit just before
      assertThat(r.version()).isBetween(version + 1, version + 2);
      version = r.version();
      load.awaitMore("traffic flows after reload " + i, 20);
    }
    assertThat(load.stop()).isEmpty();
    assertThat(load.ok()).isGreaterThan(200);
    assertThat(a.requests()).isPositive();
    assertThat(b.requests()).isPositive();
    assertThat(gw.gateway().snapshot().version()).isEqualTo(version);
  }

  @Test
  void anInvalidConfigIsRejectedWithItsErrorsAndTheOldOneKeepsServing() {
    gw.rewrite(config("1h", b) + "  - name: broken\n    path_prefix: nope\n    servcies: []\n");
    HttpResponse<String> r = gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/reload"))
        .POST(HttpRequest.BodyPublishers.noBody()), "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
    assertThat(r.statusCode()).isEqualTo(422);
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getBoolean("applied")).isFalse();
    assertThat(body.getLong("config_version")).isEqualTo(1);
    assertThat(body.getJsonArray("errors").encode())
        .contains(gw.file() + ":11: tenants[2].path_prefix: invalid path_prefix 'nope'")
        .contains("tenants[2].servcies: unknown key (did you mean 'services'?)");
    assertThat(gw.get("/t/x").body()).isEqualTo("a /x");
    assertThat(gw.gateway().snapshot().version()).isEqualTo(1);
  }

  @Test
  void aValidReloadByRequestAnswersWithTheNewVersion() {
    gw.rewrite(config("1h", b));
    HttpResponse<String> r = gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/reload"))
        .POST(HttpRequest.BodyPublishers.noBody()), "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
    assertThat(r.statusCode()).isEqualTo(200);
    // 2, or 3 when the file watcher applied the edit just before the request read it
    assertThat(new JsonObject(r.body()).getLong("config_version")).isBetween(2L, 3L).isEqualTo(gw.gateway().snapshot().version());
    assertThat(gw.get("/t/x").body()).isEqualTo("b /x");
  }

  /**
   * CI: the file watcher saw an edit, waited while a reload by request applied it, then applied
   * the same file again (two versions, two events for one change; ReloadTest's exact versions
   * failed). Failing first: version 3.
   */
  @Test
  void anEditReloadedByRequestIsNotAppliedAgainByTheWatcher() throws Exception {
    Gateway g = gw.gateway();
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    long me = Thread.currentThread().getId();
    long[] watcher = new long[1];
    synchronized (g) { // what a reload holds: the watcher's reload of the edit waits for it
      gw.rewrite(config("1h", b));
      Await.until("the watcher's reload waits for the lock", java.time.Duration.ofSeconds(10), () -> {
        for (java.lang.management.ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
          if (t != null && t.getLockOwnerId() == me) {
            watcher[0] = t.getThreadId();
            return true;
          }
        }
        return false;
      });
      ReloadResult r = g.reloadFromFile();
      assertThat(r.applied()).isTrue();
      assertThat(r.version()).isEqualTo(2);
    }
    // once the watcher's thread has the lock (no longer blocked on it), taking it waits for its reload
    Await.until("the watcher's reload has the lock", java.time.Duration.ofSeconds(10), () -> {
      java.lang.management.ThreadInfo t = threads.getThreadInfo(watcher[0]);
      return t == null || t.getThreadState() != Thread.State.BLOCKED;
    });
    synchronized (g) {
      assertThat(g.snapshot().version()).isEqualTo(2);
      assertThat(reloadEvents(g)).as("the start's and the request's").isEqualTo(2);
    }
    assertThat(gw.get("/t/x").body()).isEqualTo("b /x");
  }

  static long reloadEvents(Gateway g) {
    return g.events().list().stream().filter(e -> e instanceof dev.keystone.model.Events.Reload).count();
  }

  @Test
  void aChangedFileIsReloadedWithoutBeingAsked() {
    gw.rewrite(config("1h", b));
    Await.until("the watcher applied the change", () -> gw.get("/t/x").body().equals("b /x"));
  }

  @Test
  void healthOfUnchangedBackendsCarriesOver() {
    Await.until("a healthy", () -> gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).healthy());
    BackendHealth state = gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health();
    // a new tenant and a new interval, same backend: its state object, and so its health, are kept
    gw.rewrite(config("2h", a) + "  - name: extra\n    path_prefix: /extra/\n    services: [{ name: e, url: \"" + b.url() + "\" }]\n");
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    assertThat(gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health()).isSameAs(state);
    assertThat(gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).healthy()).isTrue();
  }

  @Test
  void anInFlightRequestFinishesOnTheConfigItStartedWith() throws Exception {
    Promise<Void> release = Promise.promise();
    a.handler(req -> release.future().onComplete(v -> req.response().end("old backend")));
    CompletableFuture<HttpResponse<String>> inFlight = gw.http().sendAsync(
        HttpRequest.newBuilder(URI.create(gw.base() + "/t/slow")).build(), HttpResponse.BodyHandlers.ofString());
    Await.until("request at backend a", () -> a.requests() == 1);
    gw.rewrite(config("1h", b));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    assertThat(gw.get("/t/new").body()).isEqualTo("b /new");
    release.complete();
    assertThat(inFlight.get(10, TimeUnit.SECONDS).body()).isEqualTo("old backend");
  }

  @Test
  void anOpenWebSocketSurvivesAReloadThatRemovesItsTenant() throws Exception {
    WebSocket ws = gw.webSocket(vertx, "/ws/");
    ConcurrentLinkedQueue<String> replies = new ConcurrentLinkedQueue<>();
    ws.textMessageHandler(replies::add);
    ws.writeTextMessage("before");
    Await.until("first echo", () -> replies.contains("echo:before"));
    gw.rewrite("""
        tenants:
          - name: t
            path_prefix: /t/
            services: [{ name: s, url: "%s" }]
        """.formatted(a.url()));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    assertThat(gw.get("/ws/").statusCode()).as("the tenant is gone for new requests").isEqualTo(404);
    ws.writeTextMessage("after");
    Await.until("echo after the reload", () -> replies.contains("echo:after"));
  }
}
