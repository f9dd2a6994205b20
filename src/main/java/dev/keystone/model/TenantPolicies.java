package dev.keystone.model;

import java.util.List;

/**
 * What a tenant asks of each request before it is routed on: its rate limits (in order; a request
 * must pass every one).
 */
public record TenantPolicies(List<RateLimitRule> rateLimits) {

  public static final TenantPolicies NONE = new TenantPolicies(List.of());

  public TenantPolicies {
    rateLimits = List.copyOf(rateLimits);
  }

  public boolean isEmpty() {
    return rateLimits.isEmpty();
  }
}
