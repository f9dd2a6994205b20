package dev.keystone.script;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * What scripts get from the gateway beyond the request: time, randomness (both replaceable in
 * tests) and each tenant's key/value store. One per gateway, kept across reloads, so counters
 * and flags survive them.
 */
public final class ScriptEnvironment {

  private final Clock clock;
  private final DoubleSupplier random;
  private final ScriptLimits limits;
  private final KeyValueStore.Limits kvLimits;
  private final Map<String, KeyValueStore> stores = new ConcurrentHashMap<>();
  /** What all tenants' stores may take together. */
  private final SharedMemory kvMemory = KeyValueStore.processMemory();

  public ScriptEnvironment(Clock clock, DoubleSupplier random, ScriptLimits limits, KeyValueStore.Limits kvLimits) {
    this.clock = clock;
    this.random = random;
    this.limits = limits;
    this.kvLimits = kvLimits;
    this.scriptLimits = new ScriptRateLimits(clock);
  }

  /** The production environment: the system clock and a thread-local random generator. */
  public static ScriptEnvironment system(Clock clock) {
    return new ScriptEnvironment(clock, () -> ThreadLocalRandom.current().nextDouble(), ScriptLimits.DEFAULT,
        KeyValueStore.Limits.DEFAULT);
  }

  public Clock clock() {
    return clock;
  }

  /** A number in [0, 1). */
  public double random() {
    return random.getAsDouble();
  }

  public ScriptLimits limits() {
    return limits;
  }

  private final Map<String, LogBudget> logs = new ConcurrentHashMap<>();
  private final Map<String, TimeShare> shares = new ConcurrentHashMap<>();
  /**
   * The script time of all tenants together: half of the event loops' time (one loop a core).
   * Tenants' own shares add up beyond it; see {@link TimeShare}.
   */
  private final TimeShare processTime = TimeShare.process(Runtime.getRuntime().availableProcessors() * 500_000_000L);

  /** The script time {@code tenant} may still use (kept across reloads; a new share when the limit changes). */
  public TimeShare timeShare(String tenant, ScriptLimits limits) {
    long perSecond = limits.timePerSecond().toNanos();
    return shares.compute(tenant, (t, old) -> old != null && old.perSecondNanos() == perSecond ? old
        : new TimeShare(perSecond, processTime, this::fairShare));
  }

  /**
   * The process's script time shared among the active tenants, counted again after 100 ms or 5 ms
   * of script time, whichever comes first: a part kept for 100 ms let tenants each run a long call
   * on it, one after the other (the Node engine's same rule).
   */
  private volatile long fairAt = Long.MIN_VALUE;
  private volatile long fairSpent;
  private volatile double fair;

  private double fairShare() {
    long now = System.nanoTime();
    long spent = processTime.spentNanos();
    if (fairAt == Long.MIN_VALUE || now - fairAt >= 100_000_000L || spent - fairSpent >= 5_000_000L) {
      fair = TimeShare.fairPart(processTime.perSecondNanos(), shares.values()); // asked only while the process share is spent
      fairAt = now;
      fairSpent = spent;
    }
    return fair;
  }

  /** How many log lines {@code tenant}'s scripts may still write (script log() and failures). */
  public LogBudget logBudget(String tenant) {
    return logs.computeIfAbsent(tenant, t -> new LogBudget());
  }

  /**
   * What requests of all tenants may hold while in flight (script edits, bodies read for a
   * script): an eighth of the heap, a tenant at most a quarter of that.
   */
  private final SharedMemory held = new SharedMemory("request data held in flight",
      Runtime.getRuntime().maxMemory() / 8, 1L << 20);
  private final Map<String, TenantAccount> heldBy = new ConcurrentHashMap<>();

  /** What {@code tenant}'s requests in flight hold. */
  public TenantAccount held(String tenant) {
    return heldBy.computeIfAbsent(tenant, t -> new TenantAccount(t, held.max() / 4, held));
  }

  /** The counts of scripts' {@code rate_limit(key, limit, window)} (see {@link ScriptRateLimits}). */
  private final ScriptRateLimits scriptLimits;

  /** Counts one call of a script's {@code rate_limit}; IllegalArgumentException for a ninth limit/window pair. */
  ScriptRateLimits.Answer rateLimit(String tenant, String key, long limit, long windowMillis) {
    return scriptLimits.take(tenant, key, limit, windowMillis);
  }

  /** The store of {@code tenant}, made on first use. */
  public KeyValueStore store(String tenant) {
    KeyValueStore s = stores.get(tenant);
    return s != null ? s : stores.computeIfAbsent(tenant, t -> {
      KeyValueStore made = new KeyValueStore(t, kvLimits, clock, kvMemory);
      made.replicate(replica);
      return made;
    });
  }

  private volatile KvReplica replica;

  /** Sends every store's writes to {@code r} too (cluster mode; null: back to this instance only). */
  public void replicate(KvReplica r) {
    replica = r;
    stores.values().forEach(s -> s.replicate(r));
  }
}
