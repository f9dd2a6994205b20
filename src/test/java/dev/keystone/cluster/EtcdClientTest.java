package dev.keystone.cluster;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestEtcd;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** The etcd client against a real etcd: reads, writes, compare-and-swap, and a watch that survives etcd's restart. */
class EtcdClientTest {

  @TempDir
  Path dir;
  Vertx vertx;
  TestEtcd etcd;
  EtcdClient client;

  @BeforeEach
  void start() {
    etcd = new TestEtcd(dir);
    vertx = Vertx.vertx();
    client = new EtcdClient(vertx, etcd.endpoints());
  }

  @AfterEach
  void stop() {
    client.close();
    vertx.close();
    etcd.close();
  }

  @Test
  void readsWritesAndCompareAndSwap() {
    assertThat(Await.result(client.get("/ks/config")).kvs()).isEmpty();
    long r1 = Await.result(client.put("/ks/config", "tenants: []"));
    EtcdClient.Range read = Await.result(client.get("/ks/config"));
    assertThat(read.kvs()).hasSize(1);
    EtcdClient.KeyValue kv = read.kvs().get(0);
    assertThat(kv.key()).isEqualTo("/ks/config");
    assertThat(kv.value()).isEqualTo("tenants: []");
    assertThat(kv.modRevision()).isEqualTo(r1);
    // two writers that read the same revision: one wins
    assertThat(Await.result(client.putIf("/ks/config", "a", kv.modRevision()))).isTrue();
    assertThat(Await.result(client.putIf("/ks/config", "b", kv.modRevision()))).isFalse();
    assertThat(Await.result(client.get("/ks/config")).kvs().get(0).value()).isEqualTo("a");
    assertThat(Await.result(client.putIf("/ks/new", "x", 0))).isTrue(); // 0: only if absent
    assertThat(Await.result(client.putIf("/ks/new", "y", 0))).isFalse();
    Await.result(client.put("/ks0", "outside the prefix"));
    Await.result(client.put("/ks/\u00e9t\u00e9", "utf-8"));
    assertThat(Await.result(client.getPrefix("/ks/")).kvs()).extracting(EtcdClient.KeyValue::key)
        .containsExactly("/ks/config", "/ks/new", "/ks/\u00e9t\u00e9");
  }

  /** Found by ClusterProcessTest: with the first member down, keystone config push failed at its first call. */
  @Test
  void aMemberThatCannotBeConnectedToIsSkippedWithinTheSameCall() throws Exception {
    int dead;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      dead = s.getLocalPort();
    }
    EtcdClient two = new EtcdClient(vertx, java.util.List.of("http://127.0.0.1:" + dead, etcd.endpoint()));
    try {
      Await.result(two.put("/skip/k", "v"));
      assertThat(Await.result(two.get("/skip/k")).kvs().get(0).value()).isEqualTo("v");
      assertThat(Await.result(two.putIf("/skip/k", "w", 0))).isFalse();
    } finally {
      two.close();
    }
  }

  @Test
  void aWatchSeesEveryChangeInOrderAcrossARestartOfEtcd() {
    long from = Await.result(client.put("/ks/a", "1")) + 1;
    List<String> seen = new CopyOnWriteArrayList<>();
    try (EtcdWatch w = new EtcdWatch(client, "/ks/", from, events -> events.forEach(e ->
        seen.add(e.kv().key() + "=" + (e.deleted() ? "(deleted)" : e.kv().value()))), compact -> seen.add("compacted"))) {
      Await.result(client.put("/ks/b", "2"));
      Await.result(client.put("/other", "not watched"));
      Await.until("the first change seen", Duration.ofSeconds(10), () -> seen.size() == 1);
      etcd.stop();
      etcd.start(); // same data: the watch resumes from the revision after the last it delivered
      EtcdClient writer = new EtcdClient(vertx, etcd.endpoints());
      Await.result(writer.put("/ks/c", "3"));
      Await.result(writer.put("/ks/b", "4"));
      Await.result(writer.put("/ks/z", "last")); // once this is seen, everything before it was
      writer.close();
      Await.until("the last change seen", Duration.ofSeconds(30), () -> seen.contains("/ks/z=last"));
      assertThat(seen).containsExactly("/ks/b=2", "/ks/c=3", "/ks/b=4", "/ks/z=last");
    }
  }

  @Test
  void aWatchFromACompactedRevisionSaysSoInsteadOfMissingChanges() {
    long first = Await.result(client.put("/ks/a", "1"));
    Await.result(client.put("/ks/a", "2"));
    long last = Await.result(client.put("/ks/a", "3"));
    Await.result(client.call("/v3/kv/compaction", new io.vertx.core.json.JsonObject().put("revision", Long.toString(last))));
    List<Long> compacted = new CopyOnWriteArrayList<>();
    List<String> seen = new CopyOnWriteArrayList<>();
    try (EtcdWatch w = new EtcdWatch(client, "/ks/", first, events -> events.forEach(e -> seen.add(e.kv().value())),
        compacted::add)) {
      Await.until("the compaction reported", Duration.ofSeconds(10), () -> !compacted.isEmpty());
      assertThat(compacted).containsExactly(last);
      assertThat(seen).isEmpty();
    }
  }
}
