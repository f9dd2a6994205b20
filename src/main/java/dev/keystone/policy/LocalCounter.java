package dev.keystone.policy;

import dev.keystone.model.RateLimitRule;

/**
 * One key's count under one rule, on this instance: fixed windows aligned to the epoch (so every
 * instance's windows agree), a sliding window (the previous window's count weighted by how much of
 * it the sliding window still covers, plus the current one's), or a token bucket of {@code limit}
 * tokens refilled evenly over the window. Shared by the event loops: every step is under its lock,
 * a few arithmetic operations long.
 */
final class LocalCounter {

  private long windowStart = Long.MIN_VALUE;
  private long count;
  private long previous;
  private double tokens = -1; // token bucket: -1 until first used (then full)
  private long refilledAt;
  private volatile long lastUsed;

  synchronized LimitDecision take(RateLimitRule rule, long now) {
    lastUsed = now;
    long window = rule.window().toMillis();
    return switch (rule.algorithm()) {
      case FIXED_WINDOW -> fixed(rule, now, window);
      case SLIDING_WINDOW -> sliding(rule, now, window);
      case TOKEN_BUCKET -> bucket(rule, now, window);
    };
  }

  long lastUsed() {
    return lastUsed;
  }

  private LimitDecision fixed(RateLimitRule rule, long now, long window) {
    long start = now - Math.floorMod(now, window);
    if (start != windowStart) {
      windowStart = start;
      count = 0;
    }
    long reset = start + window - now;
    if (count >= rule.limit()) {
      return LimitDecision.limited(rule, reset, reset);
    }
    count++;
    return LimitDecision.allowed(rule, rule.limit() - count, reset);
  }

  private LimitDecision sliding(RateLimitRule rule, long now, long window) {
    long start = now - Math.floorMod(now, window);
    if (start != windowStart) {
      previous = start - window == windowStart ? count : 0;
      windowStart = start;
      count = 0;
    }
    long elapsed = now - start;
    double weight = (double) (window - elapsed) / window;
    double estimate = previous * weight + count;
    long reset = window - elapsed;
    if (estimate + 1 > rule.limit()) {
      // the previous window's weight shrinks by previous/window per ms: wait until one request fits
      double needed = estimate + 1 - rule.limit();
      long retry = previous > 0 ? (long) Math.ceil(needed * window / previous) : reset;
      return LimitDecision.limited(rule, reset, Math.min(retry, reset + window));
    }
    count++;
    return LimitDecision.allowed(rule, (long) Math.floor(rule.limit() - (estimate + 1)), reset);
  }

  private LimitDecision bucket(RateLimitRule rule, long now, long window) {
    double capacity = rule.limit();
    double perMilli = capacity / window;
    if (tokens < 0) {
      tokens = capacity;
    } else if (now > refilledAt) {
      tokens = Math.min(capacity, tokens + (now - refilledAt) * perMilli);
    }
    refilledAt = Math.max(refilledAt, now);
    long full = (long) Math.ceil((capacity - tokens) / perMilli);
    if (tokens < 1) {
      return LimitDecision.limited(rule, full, (long) Math.ceil((1 - tokens) / perMilli));
    }
    tokens -= 1;
    return LimitDecision.allowed(rule, (long) Math.floor(tokens), (long) Math.ceil((capacity - tokens) / perMilli));
  }
}
