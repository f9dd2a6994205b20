package dev.keystone.gateway;

import dev.keystone.cluster.EtcdClient;
import dev.keystone.cluster.StoreUrl;
import dev.keystone.config.ConfigLoader;
import dev.keystone.model.Events;
import dev.keystone.model.StoreStatus;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestEtcd;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Cluster mode (issue 17): gateways that follow one config in a real etcd. A push reaches every
 * instance; an invalid one is refused by all and changes none; etcd gone leaves them serving
 * (and saying so), and they catch up when it is back; a start while etcd is down uses the cache.
 */
class ClusterConfigTest {

  @TempDir
  Path dir;
  TestEtcd etcd;
  StoreUrl url;
  Vertx vertx;
  EtcdClient client;
  TestBackend blue;
  TestBackend green;
  final List<Gateway> gateways = new ArrayList<>();
  final HttpClient http = TestGateway.plainClient();

  @BeforeEach
  void start() throws Exception {
    etcd = new TestEtcd(Files.createDirectory(dir.resolve("etcd")));
    url = StoreUrl.parse("etcd://" + etcd.endpoint().substring("http://".length()) + "/clusters/test");
    vertx = Vertx.vertx();
    client = new EtcdClient(vertx, url.endpoints());
    blue = new TestBackend(vertx, "blue");
    green = new TestBackend(vertx, "green");
  }

  @AfterEach
  void stop() {
    gateways.forEach(g -> Await.result(g.close()));
    client.close();
    Await.result(vertx.close());
    etcd.close();
  }

  String config(TestBackend backend) {
    return """
        listen: 127.0.0.1:0
        admin:
          listen: 127.0.0.1:0
          token: %s
        tenants:
          - name: web
            path_prefix: /web/
            services: [{ name: app, url: "%s" }]
        """.formatted(TestGateway.ADMIN_TOKEN, backend.url());
  }

  long push(String yaml) {
    return Await.result(client.put(url.configKey(), yaml));
  }

  Gateway member(String name) throws Exception {
    Vertx v = Gateway.newVertx(1);
    StoreStart s = StoreStart.load(v, url, dir.resolve(name).resolve("cache.json"), new ConfigLoader());
    Gateway g = Await.result(Gateway.start(v, s, new ConfigLoader(), new GatewayOptions(1, "test", Clock.systemUTC())));
    gateways.add(g);
    return g;
  }

  HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> admin(Gateway g, String method, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.admin().port() + path))
        .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN).method(method, HttpRequest.BodyPublishers.noBody())
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  String answer(Gateway g) {
    try {
      return get(g.port(), "/web/x").body();
    } catch (Exception e) {
      return e.toString();
    }
  }

  @Test
  void aPushReachesEveryInstanceAndAnInvalidOneChangesNone() throws Exception {
    long first = push(config(blue));
    for (int i = 0; i < 3; i++) {
      member("g" + i);
    }
    for (Gateway g : gateways) {
      assertThat(get(g.port(), "/web/x").body()).isEqualTo("blue /x");
      assertThat(g.configStore().revision()).isEqualTo(first);
      assertThat(g.configStore().reachable()).isTrue();
    }

    long second = push(config(green));
    for (Gateway g : gateways) {
      Await.until("every instance serves revision " + second, Duration.ofSeconds(10), () -> answer(g).equals("green /x"));
      assertThat(g.configStore().revision()).isEqualTo(second);
    }

    // written straight to etcd (keystone config push would refuse it): every instance refuses it
    long bad = push(config(blue).replace("path_prefix: /web/", "path_prefix: web"));
    for (Gateway g : gateways) {
      Await.until("instance refused revision " + bad, Duration.ofSeconds(10), () -> g.configStore().refusedRevision() == bad);
      StoreStatus s = g.configStore();
      assertThat(s.revision()).isEqualTo(second);
      assertThat(s.refusal()).startsWith(url + "/config:7: tenants[0].path_prefix: invalid path_prefix 'web'");
      assertThat(answer(g)).isEqualTo("green /x");
      Events.Reload last = lastReload(g);
      assertThat(last.applied()).isFalse();
      assertThat(last.trigger()).isEqualTo("store");
    }
    // and the status says which revision is served and which was refused
    JsonObject status = new JsonObject(admin(gateways.get(0), "GET", "/api/v1/status").body()).getJsonObject("config_store");
    assertThat(status.getLong("revision")).isEqualTo(second);
    assertThat(status.getLong("refused_revision")).isEqualTo(bad);
    assertThat(status.getString("status")).isEqualTo("connected");
  }

  static Events.Reload lastReload(Gateway g) {
    Events.Reload last = null;
    for (Events.Event e : g.events().list()) {
      if (e instanceof Events.Reload r) {
        last = r;
      }
    }
    return last;
  }

  @Test
  void etcdGoneLeavesEveryInstanceServingAndTheyCatchUpWhenItIsBack() throws Exception {
    long first = push(config(blue));
    Gateway a = member("a");
    Gateway b = member("b");
    etcd.stop();
    for (Gateway g : List.of(a, b)) {
      Await.until("the instance notices etcd is gone", Duration.ofSeconds(20), () -> !g.configStore().reachable());
      assertThat(answer(g)).isEqualTo("blue /x");
      HttpResponse<String> ready = get(g.admin().port(), "/readyz");
      assertThat(ready.statusCode()).isEqualTo(200);
      JsonObject store = new JsonObject(ready.body()).getJsonObject("config_store");
      assertThat(store.getString("status")).isEqualTo("unreachable");
      assertThat(store.getLong("revision")).isEqualTo(first);
      assertThat(store.getString("problem")).contains("did not answer");
      assertThat(admin(g, "GET", "/metrics").body()).contains("keystone_config_store_up 0").contains("keystone_config_store_revision " + first);
    }
    HttpResponse<String> reload = admin(a, "POST", "/api/v1/reload");
    assertThat(reload.statusCode()).isEqualTo(422);
    assertThat(reload.body()).contains("did not answer").contains("still serving revision " + first);

    etcd.start();
    long second = push(config(green));
    for (Gateway g : List.of(a, b)) {
      Await.until("the instance catches up", Duration.ofSeconds(20), () -> answer(g).equals("green /x"));
      Await.until("the instance says etcd answers", Duration.ofSeconds(20), () -> g.configStore().reachable());
      assertThat(g.configStore().revision()).isEqualTo(second);
    }
  }

  @Test
  void aStartWhileEtcdIsDownUsesTheCachedConfigAndWithoutOneRefusesSayingWhy() throws Exception {
    long first = push(config(blue));
    Gateway a = member("a");
    Await.until("the config is cached", () -> Files.exists(dir.resolve("a/cache.json")));
    Await.result(a.close());
    gateways.clear();
    etcd.stop();

    Gateway again = member("a");
    assertThat(answer(again)).isEqualTo("blue /x");
    assertThat(again.configStore().fromCache()).isTrue();
    assertThat(again.configStore().reachable()).isFalse();
    assertThat(again.configStore().revision()).isEqualTo(first);

    Vertx v = Vertx.vertx();
    try {
      assertThatThrownBy(() -> StoreStart.load(v, url, dir.resolve("none/cache.json"), new ConfigLoader()))
          .isInstanceOf(StoreStart.Refused.class)
          .hasMessageContaining("etcd " + url + " did not answer")
          .hasMessageContaining("no cached config at " + dir.resolve("none/cache.json"));
    } finally {
      Await.result(v.close());
    }

    etcd.start();
    long second = push(config(green));
    Await.until("the instance started from its cache catches up", Duration.ofSeconds(20), () -> answer(again).equals("green /x"));
    assertThat(again.configStore().fromCache()).isFalse();
    assertThat(again.configStore().revision()).isEqualTo(second);
  }

  @Test
  void aReloadThroughOneInstancesAdminApiReloadsEveryInstance() throws Exception {
    push(config(blue));
    Gateway a = member("a");
    Gateway b = member("b");
    HttpResponse<String> reload = admin(a, "POST", "/api/v1/reload");
    assertThat(reload.statusCode()).as(reload.body()).isEqualTo(200);
    assertThat(lastReload(a).trigger()).isEqualTo("api");
    Await.until("the other instance reloads too", Duration.ofSeconds(10),
        () -> lastReload(b) != null && lastReload(b).trigger().equals("store-reload"));
    assertThat(lastReload(b).applied()).isTrue();
    assertThat(b.snapshot().version()).isEqualTo(2);
  }

  static boolean drained(Gateway g) {
    return g.snapshot().tenants().get(0).pool().backends().get(0).health().drained();
  }

  @Test
  void drainsAreClusterStateEveryInstanceAppliesThemAndOneStartedLaterFindsThem() throws Exception {
    push(config(blue));
    Gateway a = member("a");
    Gateway b = member("b");
    HttpResponse<String> drain = admin(a, "POST", "/api/v1/backends/app/drain");
    assertThat(drain.statusCode()).as(drain.body()).isEqualTo(200);
    assertThat(new JsonObject(drain.body()).getJsonObject("cluster").getBoolean("stored")).isTrue();
    assertThat(drained(a)).isTrue();
    Await.until("the other instance drains it too", Duration.ofSeconds(10), () -> drained(b));
    Gateway c = member("c");
    assertThat(drained(c)).as("an instance started later finds the drain").isTrue();

    // a config that points the drained name at another server: that one starts drained too
    long next = push(config(green));
    for (Gateway g : List.of(a, b, c)) {
      Await.until("revision " + next + " applied", Duration.ofSeconds(10), () -> g.configStore().revision() == next);
      assertThat(drained(g)).isTrue();
    }

    HttpResponse<String> undrain = admin(b, "POST", "/api/v1/backends/app/undrain");
    assertThat(undrain.statusCode()).as(undrain.body()).isEqualTo(200);
    for (Gateway g : List.of(a, b, c)) {
      Await.until("every instance undrains it", Duration.ofSeconds(10), () -> !drained(g));
    }

    // etcd gone: drained here only, and the operator is told the others were not
    etcd.stop();
    HttpResponse<String> alone = admin(a, "POST", "/api/v1/backends/app/drain");
    assertThat(alone.statusCode()).isEqualTo(503);
    assertThat(new JsonObject(alone.body()).getString("error")).startsWith("drained on this instance only: the config store did not answer");
    assertThat(drained(a)).isTrue();
    assertThat(drained(b)).isFalse();
  }

  @Test
  void theAdminApiListsTheClustersInstancesAndOneThatStopsLeavesTheList() throws Exception {
    long revision = push(config(blue));
    Gateway a = member("a");
    Gateway b = member("b");
    Await.until("both instances registered", Duration.ofSeconds(10), () -> instances(a).size() == 2);
    io.vertx.core.json.JsonArray list = instances(a);
    for (Object o : list) {
      JsonObject i = (JsonObject) o;
      assertThat(i.getLong("config_revision")).isEqualTo(revision);
      assertThat(i.getString("store")).isEqualTo("connected");
      assertThat(i.getJsonObject("backends").getInteger("total")).isEqualTo(1);
      assertThat(i.getLong("pid")).isEqualTo(ProcessHandle.current().pid());
    }
    assertThat(list.stream().map(o -> ((JsonObject) o).getString("listen")).toList())
        .containsExactlyInAnyOrder("127.0.0.1:" + a.port(), "127.0.0.1:" + b.port());
    assertThat(list.stream().filter(o -> ((JsonObject) o).getBoolean("self")).map(o -> ((JsonObject) o).getString("listen")).toList())
        .containsExactly("127.0.0.1:" + a.port());

    Await.result(b.close());
    gateways.remove(b);
    Await.until("the stopped instance left the list", Duration.ofSeconds(10), () -> instances(a).size() == 1);
  }

  io.vertx.core.json.JsonArray instances(Gateway g) {
    try {
      HttpResponse<String> r = admin(g, "GET", "/api/v1/cluster");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      return new JsonObject(r.body()).getJsonArray("instances");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void apiKeysInTheStoreOpenEveryInstanceAndARevokeClosesEvery() throws Exception {
    push(config(blue).replace("    path_prefix: /web/\n", "    path_prefix: /web/\n    api_key: true\n"));
    Gateway a = member("a");
    Gateway b = member("b");
    HttpResponse<String> made = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.admin().port() + "/api/v1/keys"))
        .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"acme\", \"tenants\": [\"web\"]}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
    String key = new JsonObject(made.body()).getString("key");
    for (Gateway g : List.of(a, b)) {
      Await.until("the key opens every instance", Duration.ofSeconds(10), () -> status(g, key) == 200);
    }
    Gateway c = member("c");
    assertThat(status(c, key)).as("an instance started later has it").isEqualTo(200);
    assertThat(admin(b, "DELETE", "/api/v1/keys/acme").statusCode()).isEqualTo(200);
    for (Gateway g : List.of(a, b, c)) {
      Await.until("the key is refused everywhere", Duration.ofSeconds(10), () -> status(g, key) == 401);
    }
  }

  /** Attack s18-cluster F1: a cluster under PREFIX/keys (its keys at PREFIX/keys/keys/NAME) opened PREFIX's tenants. */
  @Test
  void anotherClustersKeysUnderALongerPrefixOpenNothingHere() throws Exception {
    push(config(blue).replace("    path_prefix: /web/\n", "    path_prefix: /web/\n    api_key: true\n"));
    String key = dev.keystone.policy.ApiKeyCodec.newKey();
    dev.keystone.model.ApiKey k = new dev.keystone.model.ApiKey("k9", dev.keystone.policy.ApiKeyCodec.sha256(key),
        java.util.Set.of("web"), java.util.Set.of(), java.time.Instant.now(), null);
    StoreUrl nested = StoreUrl.parse(url + "/keys");
    Await.result(new dev.keystone.cluster.KeysStore(client, nested).add(k)); // /clusters/test/keys/keys/k9
    Gateway a = member("a");
    assertThat(status(a, key)).isEqualTo(401);
    Await.result(new dev.keystone.cluster.KeysStore(client, nested).remove("k9"));
    Await.result(new dev.keystone.cluster.KeysStore(client, nested).add(k)); // while a watches
    assertThat(Await.result(new dev.keystone.cluster.KeysStore(client, url).list())).isEmpty();
    // a key of this cluster written after it: seen, so the nested one had its chance too
    String mine = dev.keystone.policy.ApiKeyCodec.newKey();
    Await.result(new dev.keystone.cluster.KeysStore(client, url).add(new dev.keystone.model.ApiKey("mine",
        dev.keystone.policy.ApiKeyCodec.sha256(mine), java.util.Set.of("web"), java.util.Set.of(), java.time.Instant.now(), null)));
    Await.until("this cluster's key opens", Duration.ofSeconds(10), () -> status(a, mine) == 200);
    assertThat(status(a, key)).isEqualTo(401);
    assertThat(a.apiKeyList()).extracting(dev.keystone.model.ApiKey::name).containsExactly("mine");
  }

  int status(Gateway g, String key) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + "/web/x")).header("X-Api-Key", key).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }
}
