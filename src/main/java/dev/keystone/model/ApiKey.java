package dev.keystone.model;

import java.time.Instant;
import java.util.Set;

/**
 * An API key as the gateway keeps it: its name (what backends and logs see), the SHA-256 of the
 * key (the key itself is shown once, when it is made, and never stored), the tenants it opens
 * ({@code *}: all) and its scopes.
 *
 * @param expires when it stops working (null: never)
 */
public record ApiKey(String name, String sha256, Set<String> tenants, Set<String> scopes, Instant created, Instant expires) {

  public ApiKey {
    tenants = Set.copyOf(tenants);
    scopes = Set.copyOf(scopes);
  }

  public boolean opens(String tenant) {
    return tenants.contains("*") || tenants.contains(tenant);
  }

  public boolean expired(Instant now) {
    return expires != null && !now.isBefore(expires);
  }
}
