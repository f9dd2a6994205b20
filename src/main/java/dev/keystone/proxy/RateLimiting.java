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

  /** The longest a request waits for the state store before its rule's fallback decides. */
  static final long ASK_DEADLINE_MS = 500;

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
        // One answer, whichever comes first: the store's, or the rule's fallback at the deadline
        // (attack s18: requests waited 1.2 s on a frozen Redis, and for ever on one that answered
        // nonsense). Both run on the request's event loop, so the flag needs no lock.
        boolean[] settled = new boolean[1];
        ex.after(ASK_DEADLINE_MS, () -> {
          if (!settled[0]) {
            settled[0] = true;
            if (passed(ex, limiters.fallback(t.name(), rule, key))) {
              check(ex, rules, next);
            }
          }
        });
        limiters.ask(t.name(), rule, key).onComplete(ar -> ex.later(() -> {
          if (settled[0]) {
            return;
          }
          settled[0] = true;
          LimitDecision asked = ar.succeeded() ? ar.result() : limiters.fallback(t.name(), rule, key);
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
