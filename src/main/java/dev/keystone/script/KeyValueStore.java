package dev.keystone.script;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One tenant's key/value store for its scripts: counters and flags shared by every request on
 * this gateway instance (all event loops), kept across reloads, with per-key TTLs and a cap on
 * the number of keys. Values are strings, numbers or booleans. Not shared between instances.
 */
public final class KeyValueStore {

  /** Bounds of one store. */
  public record Limits(int maxKeys, int maxKeyBytes, int maxValueBytes) {
    public static final Limits DEFAULT = new Limits(10_000, 256, 64 * 1024);
  }

  private record Entry(Object value, long expiresAtMillis) {
    boolean expired(long now) {
      return expiresAtMillis > 0 && now >= expiresAtMillis;
    }
  }

  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final Limits limits;
  private final Clock clock;

  public KeyValueStore(Limits limits, Clock clock) {
    this.limits = limits;
    this.clock = clock;
  }

  /** The value, or null when absent or expired. */
  public Object get(String key) {
    Entry e = entries.get(key);
    if (e == null) {
      return null;
    }
    if (e.expired(clock.millis())) {
      entries.remove(key, e);
      return null;
    }
    return e.value;
  }

  /** Stores {@code value} (null deletes) for {@code ttlSeconds} (0: no expiry). */
  public void set(String key, Object value, double ttlSeconds) {
    checkKey(key);
    if (value == null) {
      entries.remove(key);
      return;
    }
    if (value instanceof String s && s.length() > limits.maxValueBytes()) {
      throw new IllegalArgumentException("kv value above " + limits.maxValueBytes() + " bytes");
    }
    makeRoomFor(key);
    entries.put(key, new Entry(value, expiry(ttlSeconds)));
  }

  /**
   * Adds {@code by} to a numeric value (absent or expired counts as 0) and returns the result,
   * atomically across event loops. A new key gets {@code ttlSeconds}; an existing one keeps its
   * expiry, so a counter with a TTL is a fixed window.
   */
  public double incr(String key, double by, double ttlSeconds) {
    checkKey(key);
    makeRoomFor(key);
    long now = clock.millis();
    Entry e = entries.compute(key, (k, old) -> {
      if (old == null || old.expired(now)) {
        return new Entry(by, expiry(ttlSeconds));
      }
      if (!(old.value instanceof Number n)) {
        throw new IllegalArgumentException("kv.incr: the value of '" + k + "' is not a number");
      }
      return new Entry(n.doubleValue() + by, old.expiresAtMillis);
    });
    return ((Number) e.value).doubleValue();
  }

  public int size() {
    return entries.size();
  }

  private long expiry(double ttlSeconds) {
    if (ttlSeconds < 0) {
      throw new IllegalArgumentException("kv: the ttl must not be negative");
    }
    return ttlSeconds == 0 ? 0 : clock.millis() + Math.max(1, (long) (ttlSeconds * 1000));
  }

  private void checkKey(String key) {
    if (key.isEmpty() || key.length() > limits.maxKeyBytes()) {
      throw new IllegalArgumentException("kv keys are 1 to " + limits.maxKeyBytes() + " characters");
    }
  }

  private void makeRoomFor(String key) {
    if (entries.size() < limits.maxKeys() || entries.containsKey(key)) {
      return;
    }
    long now = clock.millis();
    entries.values().removeIf(e -> e.expired(now));
    if (entries.size() >= limits.maxKeys()) {
      throw new IllegalArgumentException("kv store full (" + limits.maxKeys() + " keys): set a ttl or delete keys");
    }
  }
}
