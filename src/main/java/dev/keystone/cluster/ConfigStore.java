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

  /** Writes {@code yaml} if the config is still at {@code readModRevision}; the new revision, or -1 when it changed meanwhile. */
  public Future<Long> push(String yaml, long readModRevision) {
    return etcd.putIf(url.configKey(), yaml, readModRevision).compose(ok -> ok
        ? etcd.get(url.configKey()).map(r -> r.kvs().get(0).modRevision())
        : Future.succeededFuture(-1L));
  }
}
