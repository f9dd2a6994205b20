package dev.keystone.gateway;

import dev.keystone.config.TenantConfig;
import dev.keystone.upstream.Pool;

/** A tenant as served: its config and its pool of backends. Part of one {@link Snapshot}. */
public record Tenant(TenantConfig config, Pool pool) {

  public String name() {
    return config.name();
  }
}
