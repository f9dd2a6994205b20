package dev.keystone.policy;

import dev.keystone.model.RateLimitRule;

/**
 * What a rate limit said about one request, with what the client is told (IETF draft
 * RateLimit-* headers): the limit, what is left of it, and the seconds until it resets; for a
 * refused request, the seconds to wait ({@code Retry-After}).
 *
 * @param outcome    allowed, refused (429) or refused because the state store is down and the rule
 *                   fails closed (503)
 * @param retryAfter seconds, for a refusal
 */
public record LimitDecision(Outcome outcome, RateLimitRule rule, long remaining, long resetSeconds, long retryAfter) {

  /** How a limit answered. */
  public enum Outcome { ALLOWED, LIMITED, STORE_DOWN }

  public boolean allowed() {
    return outcome == Outcome.ALLOWED;
  }

  static LimitDecision allowed(RateLimitRule rule, long remaining, long resetMillis) {
    return new LimitDecision(Outcome.ALLOWED, rule, Math.max(0, remaining), seconds(resetMillis), 0);
  }

  static LimitDecision limited(RateLimitRule rule, long resetMillis, long retryMillis) {
    return new LimitDecision(Outcome.LIMITED, rule, 0, seconds(resetMillis), Math.max(1, seconds(retryMillis)));
  }

  static LimitDecision storeDown(RateLimitRule rule) {
    return new LimitDecision(Outcome.STORE_DOWN, rule, 0, 1, 1);
  }

  /** Whole seconds, rounded up: a client told 0 would ask again at once. */
  static long seconds(long millis) {
    return Math.max(0, (millis + 999) / 1000);
  }

  /**
   * Of two passing decisions, the one to tell the client about: the one with less left (the
   * draft: the policy closest to its limit).
   */
  public static LimitDecision tighter(LimitDecision a, LimitDecision b) {
    if (a == null) {
      return b;
    }
    return b.remaining < a.remaining ? b : a;
  }
}
