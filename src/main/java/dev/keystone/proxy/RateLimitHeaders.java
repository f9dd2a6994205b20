package dev.keystone.proxy;

import dev.keystone.policy.LimitDecision;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * The IETF draft's rate-limit fields (draft-ietf-httpapi-ratelimit-headers-07) on every answer of
 * a tenant with rate limits: {@code RateLimit-Limit}, {@code RateLimit-Remaining},
 * {@code RateLimit-Reset} (seconds) and {@code RateLimit-Policy} ({@code 100;w=60}), for the rule
 * closest to its limit; a refusal adds {@code Retry-After}. A backend's own fields are replaced:
 * the client is told about the gateway's limit, which it hit.
 */
final class RateLimitHeaders {

  private RateLimitHeaders() {
  }

  static void apply(Exchange ex, HttpHeaders out) {
    LimitDecision d = ex.rateLimit;
    if (d == null) {
      return;
    }
    out.set("RateLimit-Limit", Long.toString(d.rule().limit()));
    out.set("RateLimit-Remaining", Long.toString(d.remaining()));
    out.set("RateLimit-Reset", Long.toString(d.resetSeconds()));
    out.set("RateLimit-Policy", d.rule().policy());
    if (!d.allowed()) {
      out.set("Retry-After", Long.toString(d.retryAfter()));
    }
  }
}
