package dev.keystone.model;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The API keys a gateway accepts, by the SHA-256 of the key (a lookup never compares keys). */
public record ApiKeyTable(Map<String, ApiKey> bySha256) {

  public static final ApiKeyTable EMPTY = new ApiKeyTable(Map.of());

  public ApiKeyTable {
    bySha256 = Map.copyOf(bySha256);
  }

  public static ApiKeyTable of(List<ApiKey> keys) {
    Map<String, ApiKey> m = new HashMap<>();
    for (ApiKey k : keys) {
      m.put(k.sha256(), k);
    }
    return new ApiKeyTable(m);
  }

  /** The key whose SHA-256 is {@code sha256}, or null. */
  public ApiKey find(String sha256) {
    return bySha256.get(sha256);
  }

  /** Both tables' keys (a name in both: {@code other}'s). */
  public ApiKeyTable with(ApiKeyTable other) {
    if (other.bySha256.isEmpty()) {
      return this;
    }
    if (bySha256.isEmpty()) {
      return other;
    }
    Map<String, ApiKey> m = new HashMap<>(bySha256);
    m.putAll(other.bySha256);
    return new ApiKeyTable(m);
  }

  public int size() {
    return bySha256.size();
  }
}
