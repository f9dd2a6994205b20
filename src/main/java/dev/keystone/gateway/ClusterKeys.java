package dev.keystone.gateway;

import dev.keystone.model.ApiKey;
import dev.keystone.model.ApiKeyTable;
import dev.keystone.policy.ApiKeyCodec;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The cluster's API keys as the store holds them ({@code PREFIX/keys/NAME}, each the key's JSON:
 * name, SHA-256, tenants, scopes), turned into the table the gateway checks requests against
 * after every change. An entry that is not a valid key is left out, and said so in the log.
 */
final class ClusterKeys {

  private static final Logger LOG = Logger.getLogger("keystone.store");

  private final Map<String, String> raw = new TreeMap<>(); // guarded by this
  private final Consumer<ApiKeyTable> publish;

  ClusterKeys(Map<String, String> initial, Consumer<ApiKeyTable> publish) {
    this.publish = publish;
    raw.putAll(initial);
    publish();
  }

  synchronized void put(String key, String json) {
    raw.put(key, json);
  }

  synchronized void remove(String key) {
    raw.remove(key);
  }

  /** Every entry as the store has it now (after a watch that ended). */
  synchronized void replaceAll(Map<String, String> now) {
    raw.clear();
    raw.putAll(now);
  }

  synchronized Map<String, String> snapshot() {
    return Map.copyOf(raw);
  }

  /** Builds the table from the entries and hands it to the gateway. */
  void publish() {
    Map<String, String> now = snapshot();
    List<ApiKey> keys = new ArrayList<>();
    for (Map.Entry<String, String> e : now.entrySet()) {
      try {
        dev.keystone.model.ApiKey k = ApiKeyCodec.fromJson(new JsonObject(e.getValue()));
        if (!e.getKey().endsWith("/" + k.name())) {
          throw new IllegalArgumentException("its name is " + k.name() + ", not its key's"); // revoking by name must find it
        }
        keys.add(k);
      } catch (RuntimeException ex) {
        LOG.warning("API key " + e.getKey() + " in the store is not valid and is not accepted: " + ex.getMessage());
      }
    }
    publish.accept(ApiKeyTable.of(keys));
  }
}
