package dev.keystone.model;

import java.util.List;

/**
 * What a tenant asks of each request before it is routed on: a JWT ({@code jwt}, null: none), an
 * API key ({@code apiKey}, null: none asked), then its rate limits (in order; a request must pass
 * every one).
 */
public record TenantPolicies(List<RateLimitRule> rateLimits, ApiKeyRule apiKey, JwtRule jwt) {

  public static final TenantPolicies NONE = new TenantPolicies(List.of(), null, null);

  public TenantPolicies {
    rateLimits = List.copyOf(rateLimits);
  }

  public boolean isEmpty() {
    return rateLimits.isEmpty() && apiKey == null && jwt == null;
  }
}
