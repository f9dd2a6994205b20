package dev.keystone.cluster;

import dev.keystone.model.ApiKey;
import dev.keystone.policy.ApiKeyCodec;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * A cluster's API keys in etcd: {@code PREFIX/keys/NAME}, each the key's JSON (its SHA-256, never
 * the key). A name is taken only if free (a transaction on "does not exist"), so two instances
 * cannot make two keys of one name.
 */
public final class KeysStore {

  private final EtcdClient etcd;
  private final StoreUrl url;

  public KeysStore(EtcdClient etcd, StoreUrl url) {
    this.etcd = etcd;
    this.url = url;
  }

  /** Adds {@code key}; false when a key of that name exists. */
  public Future<Boolean> add(ApiKey key) {
    return etcd.putIf(url.keysPrefix() + key.name(), ApiKeyCodec.toJson(key).encode(), 0);
  }

  /** Removes the key named {@code name}; false when there was none. */
  public Future<Boolean> remove(String name) {
    String k = url.keysPrefix() + name;
    return etcd.get(k).compose(r -> r.kvs().isEmpty() ? Future.succeededFuture(false) : etcd.delete(k).map(rev -> true));
  }

  /** Every key (those that do not parse are left out). */
  public Future<List<ApiKey>> list() {
    return etcd.getPrefix(url.keysPrefix()).map(r -> {
      List<ApiKey> out = new ArrayList<>();
      for (EtcdClient.KeyValue kv : r.kvs()) {
        if (!url.isApiKey(kv.key())) {
          continue; // another cluster's, under a longer prefix
        }
        try {
          out.add(ApiKeyCodec.fromJson(new JsonObject(kv.value())));
        } catch (RuntimeException e) {
          // not a key this gateway wrote: the gateways skip it too
        }
      }
      return out;
    });
  }
}
