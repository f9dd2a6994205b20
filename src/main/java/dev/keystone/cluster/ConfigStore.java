package dev.keystone.cluster;

import io.vertx.core.Future;

/**
 * A cluster's config in etcd: the YAML text under {@code PREFIX/config}. Writes are a transaction
 * on the revision the writer read: two pushes that read the same config cannot both land, the
 * second is told and nothing of it is written.
 */
public final class ConfigStore {

  /** The stored config: its text ("" when none) and the revision that last changed it (0: never written). */
  public record Stored(String yaml, long modRevision, long storeRevision) {
    public boolean exists() {
      return modRevision > 0;
    }
  }

  private final EtcdClient etcd;
  private final StoreUrl url;

  public ConfigStore(EtcdClient etcd, StoreUrl url) {
    this.etcd = etcd;
    this.url = url;
  }

  public Future<Stored> get() {
    return etcd.get(url.configKey()).map(r -> r.kvs().isEmpty() ? new Stored("", 0, r.revision())
        : new Stored(r.kvs().get(0).value(), r.kvs().get(0).modRevision(), r.revision()));
  }

  /** The cluster's registered instances, each as it wrote itself (entries that are not JSON left out). */
  public Future<java.util.List<io.vertx.core.json.JsonObject>> instances() {
    return etcd.getPrefix(url.instancesPrefix()).map(r -> {
      java.util.List<io.vertx.core.json.JsonObject> out = new java.util.ArrayList<>();
      for (EtcdClient.KeyValue kv : r.kvs()) {
        try {
          io.vertx.core.json.JsonObject j = new io.vertx.core.json.JsonObject(kv.value());
          if (kv.key().equals(url.instancesPrefix() + j.getString("id", ""))) {
            out.add(j);
          }
        } catch (RuntimeException e) {
          // not an instance's entry
        }
      }
      return out;
    });
  }

  /** Writes {@code yaml} if the config is still at {@code readModRevision}; the new revision, or -1 when it changed meanwhile. */
  public Future<Long> push(String yaml, long readModRevision) {
    return push(yaml, readModRevision, 2);
  }

  /**
   * A write whose answer was lost (etcd between leaders, a member killed) may or may not have
   * landed: the config is read again. Ours, written after the revision read: it landed. Still the
   * one read: the write is sent once more (still a compare-and-swap, so never over another push).
   */
  private Future<Long> push(String yaml, long readModRevision, int tries) {
    return etcd.putIf(url.configKey(), yaml, readModRevision)
        .compose(ok -> ok ? etcd.get(url.configKey()).map(r -> r.kvs().get(0).modRevision()) : Future.succeededFuture(-1L))
        .recover(e -> etcd.get(url.configKey()).compose(r -> {
          EtcdClient.KeyValue kv = r.kvs().isEmpty() ? null : r.kvs().get(0);
          long now = kv == null ? 0 : kv.modRevision();
          if (kv != null && now > readModRevision && kv.value().equals(yaml)) {
            return Future.succeededFuture(now);
          }
          if (now == readModRevision && tries > 1) {
            return push(yaml, readModRevision, tries - 1);
          }
          return now == readModRevision ? Future.failedFuture(e) : Future.succeededFuture(-1L);
        }));
  }
}
