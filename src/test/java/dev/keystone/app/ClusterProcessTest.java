package dev.keystone.app;

import dev.keystone.cluster.EtcdClient;
import dev.keystone.cluster.StoreUrl;
import dev.keystone.testing.Await;
import dev.keystone.testing.GatewayProcess;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestEtcdCluster;
import dev.keystone.testing.TestGateway;
import dev.keystone.testing.TrafficLoad;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 17's cluster scenarios with real processes: three gateways started with
 * {@code --config-store} on a three-member etcd, under traffic the whole time. A push reaches all;
 * an invalid one changes none; one member killed changes nothing; all of etcd killed fails no
 * request, and the gateways catch up when it is back.
 */
class ClusterProcessTest {

  @TempDir
  Path dir;
  TestEtcdCluster etcd;
  Vertx vertx;
  TestBackend blue;
  TestBackend green;
  String store;
  final List<GatewayProcess> gateways = new ArrayList<>();
  final List<Integer> adminPorts = new ArrayList<>();
  final HttpClient http = TestGateway.plainClient();

  @BeforeEach
  void start() throws Exception {
    etcd = new TestEtcdCluster(Files.createDirectory(dir.resolve("etcd")), 3);
    store = "etcd://" + etcd.hosts() + "/keystone/prod";
    vertx = Vertx.vertx();
    blue = new TestBackend(vertx, "blue");
    green = new TestBackend(vertx, "green");
  }

  @AfterEach
  void stop() {
    gateways.forEach(GatewayProcess::close);
    if (vertx != null) {
      Await.result(vertx.close());
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  String config(TestBackend backend) {
    return """
        listen: 127.0.0.1:0
        admin:
          token: %s
        tenants:
          - name: web
            path_prefix: /web/
            services: [{ name: app, url: "%s" }]
        """.formatted(TestGateway.ADMIN_TOKEN, backend.url());
  }

  /** {@code keystone config push}, as an operator runs it; its exit code and what it printed. */
  String push(String yaml, int expectedExit) throws Exception {
    Path file = Files.writeString(Files.createTempFile(dir, "push", ".yaml"), yaml);
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    int code = new ConfigCommand(new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(o, true, StandardCharsets.UTF_8),
        Map.<String, String>of()::get).run(new String[] {"push", file.toString(), "--store", store});
    String out = o.toString(StandardCharsets.UTF_8);
    assertThat(code).as(out).isEqualTo(expectedExit);
    return out;
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  GatewayProcess gateway(int n) throws Exception {
    int adminPort = freePort();
    GatewayProcess p = GatewayProcess.start(dir, List.of("-Xmx256m"), "--config-store", store,
        "--config-cache", dir.resolve("cache-" + n + ".json").toString(), "--admin", "127.0.0.1:" + adminPort);
    gateways.add(p);
    adminPorts.add(adminPort);
    p.awaitListening();
    return p;
  }

  HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  String answer(int n) {
    try {
      return get(gateways.get(n).port(), "/web/x").body();
    } catch (Exception e) {
      return e.toString();
    }
  }

  JsonObject storeStatus(int n) throws Exception {
    return new JsonObject(get(adminPorts.get(n), "/readyz").body()).getJsonObject("config_store");
  }

  void awaitAll(String body) {
    for (int n = 0; n < gateways.size(); n++) {
      int g = n;
      Await.until("gateway " + g + " answers '" + body + "'", Duration.ofSeconds(30), () -> answer(g).equals(body));
    }
  }

  @Test
  void threeGatewaysOnAThreeMemberEtcdFollowOnePushAndServeThroughEtcdFailures() throws Exception {
    push(config(blue), 0);
    for (int n = 0; n < 3; n++) {
      gateway(n);
    }
    TrafficLoad load = TrafficLoad.start(3, Duration.ofMillis(2), (client, i) -> get(gateways.get(client).port(), "/web/" + i));
    try {
      awaitAll("blue /x");

      long pushed = System.nanoTime();
      push(config(green), 0);
      awaitAll("green /x");
      System.out.printf("a push reached all three gateways in %d ms%n", (System.nanoTime() - pushed) / 1_000_000);

      // keystone config push refuses an invalid config; one written around it is refused by every gateway
      assertThat(push(config(blue).replace("path_prefix: /web/", "path_prefix: web"), 1)).contains("nothing was written");
      EtcdClient client = new EtcdClient(vertx, etcd.endpoints());
      long bad = Await.result(client.put(StoreUrl.parse(store).configKey(), config(blue).replace("path_prefix: /web/", "path_prefix: web")));
      for (int n = 0; n < 3; n++) {
        int g = n;
        Await.until("gateway " + g + " refused revision " + bad, Duration.ofSeconds(30),
            () -> status(g).getLong("refused_revision", 0L) == bad);
        assertThat(answer(g)).isEqualTo("green /x");
      }
      client.close();

      // one member of three killed: pushes still go through and reach every gateway
      etcd.stop(0);
      push(config(blue), 0);
      awaitAll("blue /x");
      load.awaitMore("traffic goes on", 30);

      // all of etcd killed: every gateway serves its config and says etcd is unreachable
      etcd.stop(1);
      etcd.stop(2);
      for (int n = 0; n < 3; n++) {
        int g = n;
        Await.until("gateway " + g + " says etcd is unreachable", Duration.ofSeconds(30),
            () -> "unreachable".equals(status(g).getString("status")));
        assertThat(get(adminPorts.get(g), "/readyz").statusCode()).isEqualTo(200);
      }
      load.awaitMore("traffic goes on without etcd", 100);

      // back: the gateways catch up with a push made after
      etcd.start(0);
      etcd.start(1);
      etcd.start(2);
      Await.until("etcd takes a push again", Duration.ofSeconds(60), () -> {
        try {
          push(config(green), 0);
          return true;
        } catch (Exception | AssertionError e) {
          return false;
        }
      });
      awaitAll("green /x");
      for (int n = 0; n < 3; n++) {
        int g = n;
        Await.until("gateway " + g + " says etcd answers", Duration.ofSeconds(30), () -> "connected".equals(status(g).getString("status")));
      }
    } finally {
      List<String> failures = load.stop();
      assertThat(failures).as("requests that failed while etcd changed and failed").isEmpty();
      assertThat(load.ok()).isGreaterThan(0);
    }
  }

  /**
   * A member cut off from the others (frozen: its sockets open and silent), the one every gateway
   * talks to first: pushes and drains still reach every gateway (their watches stuck on it are
   * noticed and moved), and no request fails.
   */
  @Test
  void aMemberCutOffFromTheClusterChangesNothing() throws Exception {
    push(config(blue), 0);
    for (int n = 0; n < 3; n++) {
      gateway(n);
    }
    TrafficLoad load = TrafficLoad.start(3, Duration.ofMillis(2), (client, i) -> get(gateways.get(client).port(), "/web/" + i));
    try {
      awaitAll("blue /x");
      etcd.freeze(0);
      push(config(green), 0);
      awaitAll("green /x");
      HttpResponse<String> drained = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPorts.get(1)
          + "/api/v1/backends/app/drain")).header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
          .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(drained.statusCode()).as(drained.body()).isEqualTo(200);
      for (int n = 0; n < 3; n++) {
        int g = n;
        Await.until("gateway " + g + " drains app (503: no backend left)", Duration.ofSeconds(30),
            () -> answer(g).contains("503 Service Unavailable"));
      }
      for (int n = 0; n < 3; n++) {
        assertThat(status(n).getString("status")).as("gateway " + n).isEqualTo("connected");
      }
    } finally {
      etcd.thaw(0);
      List<String> failures = load.stop();
      // after the drain every request is a 503 by design: only failures before it count
      assertThat(failures.stream().filter(f -> !f.startsWith("503")).toList()).as("requests that failed").isEmpty();
    }
  }

  JsonObject status(int n) {
    try {
      return storeStatus(n);
    } catch (Exception e) {
      return new JsonObject().put("status", e.toString());
    }
  }

  @Test
  void aConfigFileWithOnlyConfigStoreStartsOnTheStoreAndMistakesAreNamed() throws Exception {
    // nothing pushed yet, no cache: no start, and the operator is told what to do
    GatewayProcess.Result empty = GatewayProcess.run(dir, "--config-store", store, "--config-cache", dir.resolve("none.json").toString());
    assertThat(empty.exitCode()).isEqualTo(1);
    assertThat(empty.output()).contains("there is no config at /keystone/prod/config (push one: keystone config push FILE --store "
        + store + ")").contains("no cached config at " + dir.resolve("none.json"));

    Path bootstrap = Files.writeString(dir.resolve("node.yaml"), "config_store: ${STORE}\n");
    GatewayProcess.Result unset = GatewayProcess.run(dir, "validate", "node.yaml");
    assertThat(unset.exitCode()).isEqualTo(1);
    assertThat(unset.output()).isEqualTo("1 configuration error(s):\n  node.yaml:1: config_store: environment variable STORE is not set"
        + " (write ${STORE:-default} to give a default)\n");
    Files.writeString(bootstrap, "config_store: ${STORE:-" + store + "}\n");
    assertThat(GatewayProcess.run(dir, "validate", "node.yaml").output()).isEqualTo("node.yaml: OK, the config is in the store "
        + store + " (check a config before it is pushed: keystone validate CONFIG)\n");

    Files.writeString(dir.resolve("wrong.yaml"), "config_store: etcd://127.0.0.1/keystone\ntenants: []\n");
    GatewayProcess.Result wrong = GatewayProcess.run(dir, "--config", "wrong.yaml");
    assertThat(wrong.exitCode()).isEqualTo(1);
    assertThat(wrong.output()).contains("wrong.yaml:2: tenants: a file with config_store holds no config of its own");
    Files.writeString(dir.resolve("wrong.yaml"), "\nconfig_store: etcd://127.0.0.1/keystone\n");
    assertThat(GatewayProcess.run(dir, "--config", "wrong.yaml").output())
        .contains("wrong.yaml:2: config_store: the members of etcd://127.0.0.1/keystone: host:port[,host:port...], got '127.0.0.1'");
    assertThat(GatewayProcess.run(dir, "--config", "wrong.yaml", "--config-store", store).output())
        .contains("--config-store and --config: the config comes from one or the other");

    push(config(blue), 0);
    Files.writeString(bootstrap, "config_store: " + store + "\nconfig_cache: state/cache.json\n");
    GatewayProcess p = GatewayProcess.start(dir, List.of("-Xmx256m"), "--config", "node.yaml", "--admin", "127.0.0.1:" + freePort());
    gateways.add(p);
    p.awaitListening();
    assertThat(get(p.port(), "/web/x").body()).isEqualTo("blue /x");
    assertThat(p.output()).contains("config: " + store + " revision ");
    Await.until("the config is cached where the file says", () -> Files.exists(dir.resolve("state/cache.json")));
  }
}
