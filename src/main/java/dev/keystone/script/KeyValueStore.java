package dev.keystone.script;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One tenant's key/value store for its scripts: counters and flags shared by every request on
 * this gateway instance (all event loops), kept across reloads, with per-key TTLs. Values are
 * strings, numbers or booleans. With a {@link KvReplica} (cluster mode, {@code state_store}) every
 * write is also sent to the state store, and other instances' writes arrive through
 * {@link #applyRemote}: reads stay local and the instances converge within moments.
 *
 * <p>Bounded by construction: in keys, and in bytes per tenant and for the whole process
 * ({@link SharedMemory}, sized from the heap, with a share guaranteed to each tenant), each write checked before it is stored. A tenant that
 * fills its store gets an error from {@code kv.set}; it cannot take the heap from the others.
 */
public final class KeyValueStore {

  /**
   * Bounds of one store.
   *
   * @param maxBytes what its entries may take, estimated generously (keys, values, overhead)
   */
  public record Limits(int maxKeys, int maxKeyBytes, int maxValueBytes, long maxBytes) {
    public static final Limits DEFAULT = new Limits(10_000, 256, 64 * 1024, defaultBytes());

    public Limits(int maxKeys, int maxKeyBytes, int maxValueBytes) {
      this(maxKeys, maxKeyBytes, maxValueBytes, defaultBytes());
    }

    /** 64 MiB per tenant, but at most a sixteenth of the heap. */
    static long defaultBytes() {
      return Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 16);
    }
  }

  /** What all stores of a process may take together: an eighth of the heap, 1 MiB a tenant guaranteed. */
  public static SharedMemory processMemory() {
    long max = Runtime.getRuntime().maxMemory() / 8;
    return new SharedMemory("kv", max, 1L << 20);
  }

  private record Entry(Object value, long expiresAtMillis, long bytes) {
    boolean expired(long now) {
      return expiresAtMillis > 0 && now >= expiresAtMillis;
    }
  }

  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final String tenant;
  private final Limits limits;
  private final Clock clock;
  private final SharedMemory.Account process;
  /** Bytes of the entries (guarded by this). */
  private long bytes;
  private volatile KvReplica replica;

  public KeyValueStore(Limits limits, Clock clock) {
    this("script", limits, clock, SharedMemory.unbounded("kv"));
  }

  public KeyValueStore(String tenant, Limits limits, Clock clock, SharedMemory process) {
    this.tenant = tenant;
    this.limits = limits;
    this.clock = clock;
    this.process = process.account();
  }

  /** Sends this store's writes to {@code r} too (null: none). */
  public void replicate(KvReplica r) {
    this.replica = r;
  }

  public String tenant() {
    return tenant;
  }

  /**
   * Another instance's write (from the state store): stored without being sent back. One that
   * does not fit this store's limits is left out (false): the limits hold whatever the others do.
   */
  public synchronized boolean applyRemote(String key, Object value, long expiresAtMillis) {
    if (key.isEmpty() || key.length() > limits.maxKeyBytes()) {
      return false;
    }
    if (value == null || (expiresAtMillis > 0 && clock.millis() >= expiresAtMillis)) {
      Entry old = entries.remove(key);
      if (old != null) {
        release(old.bytes);
      }
      return true;
    }
    if (value instanceof String s && s.length() > limits.maxValueBytes()) {
      return false;
    }
    try {
      put(key, new Entry(value, expiresAtMillis, size(key, value)));
      return true;
    } catch (IllegalArgumentException full) {
      return false;
    }
  }

  /** The value, or null when absent or expired. */
  public Object get(String key) {
    Entry e = entries.get(key);
    if (e == null) {
      return null;
    }
    if (e.expired(clock.millis())) {
      synchronized (this) {
        if (entries.remove(key, e)) {
          release(e.bytes);
        }
      }
      return null;
    }
    return e.value;
  }

  /** Stores {@code value} (null deletes) for {@code ttlSeconds} (0: no expiry). */
  public synchronized void set(String key, Object value, double ttlSeconds) {
    checkKey(key);
    KvReplica r = replica;
    if (value == null) {
      Entry old = entries.remove(key);
      if (old != null) {
        release(old.bytes);
      }
      if (r != null) {
        r.set(tenant, key, null, 0);
      }
      return;
    }
    if (value instanceof String s && s.length() > limits.maxValueBytes()) {
      throw new IllegalArgumentException("kv value above " + limits.maxValueBytes() + " bytes");
    }
    long expiry = expiry(ttlSeconds);
    put(key, new Entry(value, expiry, size(key, value)));
    if (r != null) {
      r.set(tenant, key, value, expiry);
    }
  }

  /**
   * Adds {@code by} to a numeric value (absent or expired counts as 0) and returns the result,
   * atomically across event loops. A new key gets {@code ttlSeconds}; an existing one keeps its
   * expiry, so a counter with a TTL is a fixed window.
   */
  public synchronized double incr(String key, double by, double ttlSeconds) {
    checkKey(key);
    long now = clock.millis();
    Entry old = entries.get(key);
    Entry e;
    if (old == null || old.expired(now)) {
      e = new Entry(by, expiry(ttlSeconds), size(key, by));
    } else if (old.value instanceof Number n) {
      e = new Entry(n.doubleValue() + by, old.expiresAtMillis, old.bytes);
    } else {
      throw new IllegalArgumentException("kv.incr: the value of '" + key + "' is not a number");
    }
    put(key, e);
    KvReplica r = replica;
    if (r != null) {
      r.incr(tenant, key, by, e.expiresAtMillis);
    }
    return ((Number) e.value).doubleValue();
  }

  public int size() {
    return entries.size();
  }

  /** Bytes the entries take, as counted against the limits. */
  public synchronized long bytes() {
    return bytes;
  }

  /** Stores {@code e}, replacing what {@code key} had, if the store and the process have room. */
  private void put(String key, Entry e) {
    Entry old = entries.get(key);
    long oldBytes = old == null ? 0 : old.bytes;
    if (old == null && entries.size() >= limits.maxKeys()) {
      dropExpired();
      if (entries.size() >= limits.maxKeys()) {
        throw new IllegalArgumentException("kv store of tenant " + tenant + " is full (" + limits.maxKeys()
            + " keys): set a ttl or delete keys");
      }
    }
    long growth = e.bytes - oldBytes;
    if (growth > 0 && bytes + growth > limits.maxBytes()) {
      dropExpired();
    }
    if (growth > 0 && (bytes + growth > limits.maxBytes() || !process.take(growth))) {
      throw new IllegalArgumentException("kv store of tenant " + tenant + " is full (" + (bytes >> 10) + " KiB of "
          + (limits.maxBytes() >> 10) + " KiB" + (bytes + growth <= limits.maxBytes() ? ", and the process's kv memory is used up" : "")
          + "): set a ttl or delete keys");
    }
    if (growth < 0) {
      process.give(-growth);
    }
    bytes += growth;
    entries.put(key, e);
  }

  private void dropExpired() {
    long now = clock.millis();
    entries.values().removeIf(old -> {
      if (old.expired(now)) {
        release(old.bytes);
        return true;
      }
      return false;
    });
  }

  private void release(long b) {
    bytes -= b;
    process.give(b);
  }

  /** A generous estimate: two bytes a character, and the map's and entry's own objects. */
  private static long size(String key, Object value) {
    return 96 + 2L * key.length() + (value instanceof String s ? 40 + 2L * s.length() : 16);
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
}
