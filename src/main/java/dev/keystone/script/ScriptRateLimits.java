package dev.keystone.script;

import java.time.Clock;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The counts behind scripts' {@code rate_limit(key, limit, window)}: fixed windows aligned to the
 * epoch, on this instance, kept across reloads. Bounded by construction: at most
 * {@link #MAX_PAIRS} limit/window pairs per tenant (a ninth is refused), {@link #MAX_KEYS} keys
 * in all (beyond: one shared overflow count per pair); keys longer than 128 characters are kept
 * as their hash; windows that ended are swept every 10 s of use.
 */
final class ScriptRateLimits {

  static final int MAX_PAIRS = 8;
  static final int MAX_KEYS = 200_000;
  static final int GUARANTEED = 2_000;
  static final int MAX_PER_TENANT = 20_000;
  private static final String OVERFLOW = "\u0000overflow";

  /** What a call answers: allowed, what is left, and the seconds until the window ends. */
  record Answer(boolean allowed, long remaining, long retryAfter) {
  }

  private static final class Count {
    long windowStart = Long.MIN_VALUE;
    long count;
  }

  private final Clock clock;
  private final Map<String, Count> counts = new ConcurrentHashMap<>();
  private final Map<String, Set<String>> pairs = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> perTenant = new ConcurrentHashMap<>();
  private final AtomicInteger size = new AtomicInteger();
  private volatile long sweptAt;

  ScriptRateLimits(Clock clock) {
    this.clock = clock;
  }

  Answer take(String tenant, String key, long limit, long windowMillis) {
    String pair = limit + "/" + windowMillis;
    Set<String> mine = pairs.computeIfAbsent(tenant, t -> ConcurrentHashMap.newKeySet());
    if (!mine.contains(pair)) {
      synchronized (mine) {
        if (mine.size() >= MAX_PAIRS && !mine.contains(pair)) {
          throw new IllegalArgumentException("rate_limit: at most " + MAX_PAIRS
              + " different limit/window pairs per tenant (the key is the first argument)");
        }
        mine.add(pair);
      }
    }
    long now = clock.millis();
    if (now - sweptAt > 10_000) {
      sweptAt = now;
      sweep(now);
    }
    // "k" keys as given, "h" the SHA-256 of a longer one: no given key can stand for a hashed one
    String k = tenant + "\n" + pair + "\n" + (key.length() > 128 ? "h" + sha256(key) : "k" + key);
    Count c = counts.get(k);
    if (c == null) {
      AtomicInteger held = perTenant.computeIfAbsent(tenant, t -> new AtomicInteger());
      int n = held.get();
      boolean room = n < GUARANTEED || (n < MAX_PER_TENANT && size.get() < MAX_KEYS);
      String slot = room ? k : tenant + "\n" + pair + "\n" + OVERFLOW;
      c = counts.computeIfAbsent(slot, x -> {
        size.incrementAndGet();
        held.incrementAndGet();
        return new Count();
      });
    }
    long start = now - Math.floorMod(now, windowMillis);
    long left = (start + windowMillis - now + 999) / 1000;
    synchronized (c) {
      if (c.windowStart != start) {
        c.windowStart = start;
        c.count = 0;
      }
      if (c.count >= limit) {
        return new Answer(false, 0, Math.max(1, left));
      }
      c.count++;
      return new Answer(true, limit - c.count, 0);
    }
  }

  private static String sha256(String key) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void sweep(long now) {
    counts.entrySet().removeIf(e -> {
      String[] parts = e.getKey().split("\n", 3);
      long window = Long.parseLong(parts[1].substring(parts[1].indexOf('/') + 1));
      boolean over;
      synchronized (e.getValue()) {
        over = e.getValue().windowStart + window <= now;
      }
      if (over) {
        size.decrementAndGet();
        AtomicInteger mine = perTenant.get(parts[0]);
        if (mine != null) {
          mine.decrementAndGet();
        }
      }
      return over;
    });
  }
}
