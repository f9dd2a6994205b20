package dev.keystone.policy;

import dev.keystone.model.RateLimitRule;
import io.vertx.core.Future;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The counts of every tenant's rate limits on this instance: runtime state, kept across reloads by
 * tenant and rule (a rule whose limit, window or algorithm changes starts over), shared by the
 * event loops. Memory is bounded by construction: at most {@link #MAX_KEYS} keys per rule and
 * {@link #MAX_TOTAL} in all (a client that sends a new header value with every request cannot grow
 * it further: keys beyond that share one overflow count per rule), keys longer than {@link #MAX_KEY_LENGTH} are kept as their
 * SHA-256, and keys unused for two windows are swept.
 */
public final class RateLimiters {

  public static final int MAX_KEYS = 100_000;
  /** Keys over every rule of every tenant: about 150 MB at most. */
  public static final int MAX_TOTAL = 1_000_000;
  public static final int MAX_KEY_LENGTH = 128;
  static final String OVERFLOW = "\u0000overflow";

  /** One rule's counts, by key, and the tenant's count of keys over all its rules. */
  private static final class RuleCounts {
    final ConcurrentHashMap<String, LocalCounter> local = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, ClusterCounter> cluster = new ConcurrentHashMap<>();
    final RateLimitRule rule;
    final java.util.concurrent.atomic.AtomicInteger tenantKeys;

    RuleCounts(RateLimitRule rule, java.util.concurrent.atomic.AtomicInteger tenantKeys) {
      this.rule = rule;
      this.tenantKeys = tenantKeys;
    }
  }

  /** Keys every tenant may always count, over its rules, whatever the others hold (fair shares). */
  public static final int GUARANTEED = 10_000;
  private final Map<String, java.util.concurrent.atomic.AtomicInteger> perTenant = new ConcurrentHashMap<>();

  private final Clock clock;
  /** A tenant's rule: what its counts are kept by (a record: hashed from its fields, no string built per request). */
  public record TenantRule(String tenant, RateLimitRule rule) {
  }

  private final Map<TenantRule, RuleCounts> rules = new ConcurrentHashMap<>();
  private volatile SharedCounters shared;
  private final int maxKeys;
  private final int maxTotal;
  private final int guaranteed;
  private final java.util.concurrent.atomic.AtomicInteger total = new java.util.concurrent.atomic.AtomicInteger();

  /** At most {@link #MAX_KEYS} keys per rule and {@link #MAX_TOTAL} over every tenant's rules. */
  public RateLimiters(Clock clock) {
    this(clock, MAX_KEYS, MAX_TOTAL, GUARANTEED);
  }

  /** Smaller bounds (tests). */
  RateLimiters(Clock clock, int maxKeys, int maxTotal, int guaranteed) {
    this.clock = clock;
    this.maxKeys = maxKeys;
    this.maxTotal = maxTotal;
    this.guaranteed = guaranteed;
  }

  /** The state store cluster rules count in (null: none configured; cluster rules then fall back). */
  public void shared(SharedCounters store) {
    this.shared = store;
  }

  /**
   * Counts one request of {@code key} against {@code rule}: the answer, or null when a cluster
   * rule must ask the state store ({@link #ask}).
   */
  public LimitDecision check(String tenant, RateLimitRule rule, String key) {
    RuleCounts counts = counts(tenant, rule);
    long now = clock.millis();
    String k = bounded(key);
    if (!rule.cluster()) {
      return slot(counts, counts.local, k, LocalCounter::new).take(rule, now);
    }
    ClusterCounter c = slot(counts, counts.cluster, k, ClusterCounter::new);
    LimitDecision d = c.tryTake(rule, now);
    SharedCounters store = shared;
    if (d != null && store != null && c.wantsRefill(rule)) {
      c.refill(rule, tenant + "\n" + rule.id() + "\n" + k, store, clock);
    }
    return d;
  }

  /** The store's answer for a request {@link #check} could not answer; completes on the store client's thread. */
  public Future<LimitDecision> ask(String tenant, RateLimitRule rule, String key) {
    RuleCounts counts = counts(tenant, rule);
    String k = bounded(key);
    ClusterCounter c = slot(counts, counts.cluster, k, ClusterCounter::new);
    SharedCounters store = shared;
    if (store == null) {
      store = (counter, r, start, want, now) -> Future.failedFuture("no state store");
    }
    return c.ask(rule, tenant + "\n" + rule.id() + "\n" + k, store, clock);
  }

  /** A cluster rule's answer without the store (its deadline passed): counted here, or refused if it fails closed. */
  public LimitDecision fallback(String tenant, RateLimitRule rule, String key) {
    return slot(counts(tenant, rule), counts(tenant, rule).cluster, bounded(key), ClusterCounter::new)
        .fallback(rule, clock.millis());
  }

  private RuleCounts counts(String tenant, RateLimitRule rule) {
    TenantRule id = new TenantRule(tenant, rule);
    RuleCounts c = rules.get(id);
    return c != null ? c : rules.computeIfAbsent(id, x -> new RuleCounts(rule,
        perTenant.computeIfAbsent(tenant, t -> new java.util.concurrent.atomic.AtomicInteger())));
  }

  /**
   * The count of {@code key}: a new key has room while the tenant holds fewer than
   * {@link #GUARANTEED} keys, or the rule fewer than {@link #MAX_KEYS} and the process fewer than
   * {@link #MAX_TOTAL}; else it shares the rule's overflow count. One tenant's clients cannot take
   * another's room (attack s18-policy F2: a tenant's 11 rules filled the process and the other
   * tenants' new clients shared one count).
   */
  private <T> T slot(RuleCounts counts, ConcurrentHashMap<String, T> map, String key, java.util.function.Supplier<T> make) {
    T t = map.get(key);
    if (t != null) {
      return t;
    }
    int mine = counts.tenantKeys.get();
    boolean room = mine < guaranteed || (map.size() < maxKeys && total.get() < maxTotal);
    String k = room ? key : OVERFLOW;
    return map.computeIfAbsent(k, x -> {
      total.incrementAndGet();
      counts.tenantKeys.incrementAndGet();
      return make.get();
    });
  }

  /** How many rules are counted now (scripts' limits bound it per tenant). */
  public int rules() {
    return rules.size();
  }

  /** A key as counted: as it is up to {@link #MAX_KEY_LENGTH} characters, else its SHA-256 (keys given start with a kind, never "sha256:"). */
  static String bounded(String key) {
    if (key.length() <= MAX_KEY_LENGTH) {
      return key;
    }
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Forgets the rules of tenants and rules no longer configured. */
  public void retainOnly(Set<TenantRule> ids) {
    rules.entrySet().removeIf(e -> {
      if (ids.contains(e.getKey())) {
        return false;
      }
      int n = e.getValue().local.size() + e.getValue().cluster.size();
      total.addAndGet(-n);
      e.getValue().tenantKeys.addAndGet(-n);
      return true;
    });
  }

  /** What {@link #retainOnly} expects for a tenant's rule. */
  public static TenantRule idOf(String tenant, RateLimitRule rule) {
    return new TenantRule(tenant, rule);
  }

  /** Drops keys unused for two windows (a fresh count is what they would start with anyway). */
  public void sweep() {
    long now = clock.millis();
    for (RuleCounts c : rules.values()) {
      long idle = 2 * c.rule.window().toMillis();
      c.local.values().removeIf(l -> now - l.lastUsed() > idle && gone(c));
      c.cluster.values().removeIf(l -> now - l.lastUsed() > idle && gone(c));
    }
  }

  private boolean gone(RuleCounts c) {
    total.decrementAndGet();
    c.tenantKeys.decrementAndGet();
    return true;
  }

  /** Keys counted now, over every rule (the metrics). */
  public long keys() {
    long n = 0;
    for (RuleCounts c : rules.values()) {
      n += c.local.size() + c.cluster.size();
    }
    return n;
  }
}
