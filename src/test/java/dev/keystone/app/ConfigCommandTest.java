package dev.keystone.app;

import dev.keystone.cluster.ConfigStore;
import dev.keystone.cluster.EtcdClient;
import dev.keystone.cluster.StoreUrl;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestEtcd;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code keystone config push|get} against a real etcd: validated before it is written, written on the revision read. */
class ConfigCommandTest {

  @TempDir
  Path dir;
  TestEtcd etcd;
  String store;
  String out;
  String err;

  @BeforeEach
  void start() {
    etcd = new TestEtcd(dir);
    store = "etcd://" + etcd.endpoint().substring("http://".length()) + "/clusters/prod";
  }

  @AfterEach
  void stop() {
    etcd.close();
  }

  int run(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = new ConfigCommand(new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8),
        Map.<String, String>of()::get).run(args);
    out = o.toString(StandardCharsets.UTF_8);
    err = e.toString(StandardCharsets.UTF_8);
    return code;
  }

  static final String GOOD = """
      tenants:
        - name: web
          path_prefix: /web/
          services: [{ name: a, url: "http://127.0.0.1:3001" }]
      """;

  @Test
  void aValidConfigIsPushedAndReadBackAnInvalidOneIsNotWritten() throws Exception {
    assertThat(run("get", "--store", store)).isEqualTo(1);
    assertThat(err).contains("no config in /clusters/prod/config");
    Path good = Files.writeString(dir.resolve("good.yaml"), GOOD);
    assertThat(run("push", good.toString(), "--store", store)).as(err).isZero();
    assertThat(out).matches("pushed .*good.yaml to /clusters/prod/config: revision \\d+ \\(the first\\)\\n");
    assertThat(run("get", "--store", store)).isZero();
    assertThat(out).isEqualTo(GOOD);

    Path bad = Files.writeString(dir.resolve("bad.yaml"), GOOD.replace("path_prefix: /web/", "path_prefix: web")
        + "  - name: web\n    services: []\n");
    assertThat(run("push", bad.toString(), "--store", store)).isEqualTo(1);
    assertThat(err).contains("bad.yaml is not valid; nothing was written:").contains("path_prefix");
    assertThat(run("get", "--store", store)).isZero();
    assertThat(out).isEqualTo(GOOD);
  }

  @Test
  void twoPushesThatReadTheSameRevisionCannotBothLand() {
    Vertx vertx = Vertx.vertx();
    try (EtcdClient client = new EtcdClient(vertx, etcd.endpoints())) {
      ConfigStore configs = new ConfigStore(client, StoreUrl.parse(store));
      long first = Await.result(configs.push("a", 0));
      ConfigStore.Stored read = Await.result(configs.get());
      assertThat(read.modRevision()).isEqualTo(first);
      long second = Await.result(configs.push("b", read.modRevision()));
      assertThat(second).isGreaterThan(first);
      assertThat(Await.result(configs.push("c", read.modRevision()))).isEqualTo(-1L); // read before "b" landed
      assertThat(Await.result(configs.get()).yaml()).isEqualTo("b");
    } finally {
      vertx.close();
    }
  }

  @Test
  void storeUrls() {
    assertThat(StoreUrl.parse("etcd://a:2379,b:2379/x/y")).isEqualTo(new StoreUrl(java.util.List.of("http://a:2379", "http://b:2379"), "/x/y"));
    assertThat(StoreUrl.parse("etcd://a:2379").configKey()).isEqualTo("/keystone/config");
    assertThat(run("get", "--store", "http://a:2379/x")).isEqualTo(2);
    assertThat(err).contains("a store such as etcd://127.0.0.1:2379/keystone, got 'http://a:2379/x'");
    assertThat(run("get", "--store", "etcd://a:2379/../x")).isEqualTo(2);
  }

  /**
   * Attack s18-cluster F4: a push valid with the pusher's environment was refused by every
   * instance, and the push said "pushed", exit 0. Now it says what the config reads, waits for
   * the instances, names those that refused it, and exits 3.
   */
  @Test
  void aPushTheInstancesRefuseIsReportedWithTheirReasons() throws Exception {
    Vertx vertx = Vertx.vertx();
    dev.keystone.testing.TestBackend backend = new dev.keystone.testing.TestBackend(vertx, "b");
    String plain = """
        listen: 127.0.0.1:0
        admin: { listen: 127.0.0.1:0, token: %s }
        tenants:
          - { name: web, path_prefix: /web/, services: [{ name: a, url: "%s" }] }
        """.formatted(dev.keystone.testing.TestGateway.ADMIN_TOKEN, backend.url());
    assertThat(run("push", Files.writeString(dir.resolve("plain.yaml"), plain).toString(), "--store", store, "--wait", "0")).isZero();
    dev.keystone.testing.TestGateway g = dev.keystone.testing.TestGateway.startOnStore(store, dir.resolve("cache.json"));
    try {
      Await.until("the instance registered", java.time.Duration.ofSeconds(10), () -> {
        run("push", dir.resolve("plain.yaml").toString(), "--store", store);
        return out.contains("applied by 1 of 1 instance(s)");
      });
      Path env = Files.writeString(dir.resolve("env.yaml"), plain.replace(backend.url(), "${KS_TEST_BACKEND_NEVER_SET}"));
      ByteArrayOutputStream o = new ByteArrayOutputStream();
      ByteArrayOutputStream e = new ByteArrayOutputStream();
      int code = new ConfigCommand(new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8),
          Map.of("KS_TEST_BACKEND_NEVER_SET", backend.url())::get).run(new String[] {"push", env.toString(), "--store", store});
      String said = o.toString(StandardCharsets.UTF_8) + e.toString(StandardCharsets.UTF_8);
      assertThat(code).as(said).isEqualTo(3);
      assertThat(said).contains("note: this config reads environment variable KS_TEST_BACKEND_NEVER_SET: every instance must have the same")
          .contains("refused it: ").contains("KS_TEST_BACKEND_NEVER_SET").contains("applied by 0 of 1 instance(s), refused by 1");
    } finally {
      g.close();
      vertx.close();
    }
  }
}
