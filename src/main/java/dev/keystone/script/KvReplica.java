package dev.keystone.script;

/**
 * Where a tenant's key/value writes go besides this instance (cluster mode: the state store),
 * told after each local write. Implementations must not block: the call is made under the
 * store's lock, on the request's event loop.
 */
public interface KvReplica {

  /** {@code key} of {@code tenant} now holds {@code value} (null: deleted) until {@code expiresAtMillis} (0: no expiry). */
  void set(String tenant, String key, Object value, long expiresAtMillis);

  /** {@code key} of {@code tenant} was incremented by {@code by}; a new key expires at {@code expiresAtMillis} (0: never). */
  void incr(String tenant, String key, double by, long expiresAtMillis);
}
