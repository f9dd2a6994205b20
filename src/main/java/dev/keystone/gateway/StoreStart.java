package dev.keystone.gateway;

import dev.keystone.cluster.ConfigStore;
import dev.keystone.cluster.EtcdClient;
import dev.keystone.cluster.StoreUrl;
import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.config.GatewayConfig;
import io.vertx.core.Vertx;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The config a gateway in cluster mode starts on: the store's, validated as a file would be; when
 * etcd cannot be reached, or holds no valid config, the cached copy of the last applied one (and
 * the gateway says so); with neither, no start, with both reasons given.
 *
 * @param config    what to serve
 * @param yaml      its text
 * @param revision  its store revision
 * @param watchFrom the store revision from which changes are to be watched
 * @param seen      the newest revision already looked at (an invalid one is not retried until a new push)
 * @param fromCache whether it came from the cache
 * @param warning   what the operator should know about this start (null: nothing)
 * @param drains    the cluster's drain keys (see {@link StoreUrl#drainKey})
 * @param apiKeys   the cluster's API keys: etcd key to its JSON
 */
public record StoreStart(StoreUrl url, Path cacheFile, GatewayConfig config, String yaml, long revision, long watchFrom,
                         long seen, boolean fromCache, String warning, java.util.List<String> drains,
                         java.util.Map<String, String> apiKeys) {

  /** Why a gateway cannot start on its store. */
  public static final class Refused extends Exception {
    public Refused(String message) {
      super(message);
    }
  }

  /** The same start on {@code changed} (the command line's --listen and --admin applied to it). */
  public StoreStart withConfig(GatewayConfig changed) {
    return new StoreStart(url, cacheFile, changed, yaml, revision, watchFrom, seen, fromCache, warning, drains, apiKeys);
  }

  /** The name errors carry for the stored config: where it is, as the file name is for a file. */
  public static String sourceName(StoreUrl url) {
    return url + "/config";
  }

  /** Reads the config from {@code url} (waiting up to 10 s), else from {@code cacheFile}. */
  public static StoreStart load(Vertx vertx, StoreUrl url, Path cacheFile, ConfigLoader loader) throws Refused {
    StoreCache cache = new StoreCache(cacheFile, url);
    ConfigStore.Stored stored;
    java.util.List<String> drains = new java.util.ArrayList<>();
    java.util.Map<String, String> keys = new java.util.TreeMap<>();
    String storeProblem;
    try (EtcdClient etcd = new EtcdClient(vertx, url.endpoints())) {
      // the whole prefix at one revision: the config and the drains as they were together
      EtcdClient.Range all = etcd.getPrefix(url.keys()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      EtcdClient.KeyValue config = null;
      for (EtcdClient.KeyValue kv : all.kvs()) {
        if (kv.key().equals(url.configKey())) {
          config = kv;
        } else if (url.drainOf(kv.key()) != null) {
          drains.add(kv.key());
        } else if (url.isApiKey(kv.key())) {
          keys.put(kv.key(), kv.value());
        }
      }
      stored = config == null ? new ConfigStore.Stored("", 0, all.revision())
          : new ConfigStore.Stored(config.value(), config.modRevision(), all.revision());
      storeProblem = stored.exists() ? null : "there is no config at " + url.configKey()
          + " (push one: keystone config push FILE --store " + url + ")";
    } catch (Exception e) {
      stored = null;
      Throwable c = e.getCause() != null ? e.getCause() : e;
      storeProblem = "etcd " + url + " did not answer: " + c.getMessage();
    }
    if (stored != null && stored.exists()) {
      try {
        GatewayConfig config = loader.parse(stored.yaml(), sourceName(url));
        return new StoreStart(url, cacheFile, config, stored.yaml(), stored.modRevision(), stored.storeRevision() + 1,
            stored.modRevision(), false, null, java.util.List.copyOf(drains), java.util.Map.copyOf(keys));
      } catch (ConfigException e) {
        storeProblem = "the config at revision " + stored.modRevision() + " is not valid:\n" + e.getMessage();
      }
    }
    StringBuilder why = new StringBuilder();
    StoreCache.Cached cached = cache.read(why);
    if (cached == null) {
      throw new Refused(storeProblem + "\nand " + why + ": cannot start");
    }
    GatewayConfig config;
    try {
      config = loader.parse(cached.yaml(), sourceName(url));
    } catch (ConfigException e) {
      throw new Refused(storeProblem + "\nand the cached config " + cacheFile + " (revision " + cached.revision()
          + ") is not valid here:\n" + e.getMessage());
    }
    // Watched from the cached revision on: the changes made while this gateway was away arrive
    // first (or, compacted away, a fresh read). A store that answered is not asked again for the
    // revision it just refused.
    long seen = stored == null ? cached.revision() : Math.max(cached.revision(), stored.modRevision());
    long watchFrom = stored == null ? cached.revision() + 1 : stored.storeRevision() + 1;
    return new StoreStart(url, cacheFile, config, cached.yaml(), cached.revision(), watchFrom, seen, true,
        "serving the cached config of revision " + cached.revision() + " from " + cacheFile + ": " + storeProblem,
        stored == null ? cached.drains() : java.util.List.copyOf(drains), stored == null ? cached.apiKeys() : java.util.Map.copyOf(keys));
  }
}
