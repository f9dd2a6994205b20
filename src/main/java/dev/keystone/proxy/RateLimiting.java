package dev.keystone.proxy;

import dev.keystone.model.RateLimitRule;
import dev.keystone.model.Tenant;
import dev.keystone.policy.LimitDecision;
import dev.keystone.policy.RateLimiters;

import java.util.List;

/**
 * The tenant's {@code rate_limits}, in order: a request must pass each. A refused one is answered
 * 429 with {@code Retry-After} (503 when a {@code deny} cluster rule cannot reach the state store);
 * every answer carries the RateLimit-* headers of the rule closest to its limit. A cluster rule
 * whose batch is empty waits for the state store (at most its deadline), then resumes here on the
 * request's own event loop.
 */
final class RateLimiting implements Interceptor {

  private final RateLimiters limiters;

  RateLimiting(RateLimiters limiters) {
    this.limiters = limiters;
  }

  @Override
  public void handle(Exchange ex) {
    List<RateLimitRule> rules = ex.tenant().policies().rateLimits();
    if (rules.isEmpty()) {
      ex.next();
      return;
    }
    check(ex, rules, 0);
  }

  private void check(Exchange ex, List<RateLimitRule> rules, int from) {
    Tenant t = ex.tenant();
    for (int i = from; i < rules.size(); i++) {
      RateLimitRule rule = rules.get(i);
      String key = keyOf(ex, rule);
      LimitDecision d = limiters.check(t.name(), rule, key);
      if (d == null) {
        int next = i + 1;
        limiters.ask(t.name(), rule, key).onComplete(ar -> ex.later(() -> {
          LimitDecision asked = ar.succeeded() ? ar.result() : null;
          if (asked == null) {
            throw new IllegalStateException("a rate limit gave no answer: " + ar.cause()); // ask() always answers
          }
          if (passed(ex, asked)) {
            check(ex, rules, next);
          }
        }));
        return;
      }
      if (!passed(ex, d)) {
        return;
      }
    }
    ex.next();
  }

  /** Records a passing decision (the tightest is told to the client), or answers the refusal. */
  private static boolean passed(Exchange ex, LimitDecision d) {
    if (d.allowed()) {
      ex.rateLimit = LimitDecision.tighter(ex.rateLimit, d);
      return true;
    }
    ex.rateLimit = d;
    if (d.outcome() == LimitDecision.Outcome.STORE_DOWN) {
      ex.fail(ProxyError.RATE_LIMIT_UNAVAILABLE, "rate limit " + d.rule().describe() + ": the state store is down and the rule"
          + " fails closed (on_store_failure: deny)");
    } else {
      ex.fail(ProxyError.TOO_MANY_REQUESTS, "rate limit " + d.rule().describe());
    }
    return false;
  }

  /** What the request is counted by. */
  static String keyOf(Exchange ex, RateLimitRule rule) {
    return switch (rule.key()) {
      case TENANT -> "";
      case CLIENT_IP -> clientIp(ex);
      case API_KEY -> ex.apiKeyName != null ? "key:" + ex.apiKeyName : "ip:" + clientIp(ex);
      case HEADER -> {
        String v = ex.head().headers().get(rule.header());
        yield v == null ? "\u0000none" : "h:" + v;
      }
    };
  }

  private static String clientIp(Exchange ex) {
    String a = ex.head().clientAddress();
    return a == null ? "" : a;
  }
}
