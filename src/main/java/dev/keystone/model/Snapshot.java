package dev.keystone.model;

import dev.keystone.routing.RouteTable;

import java.time.Instant;
import java.util.List;

/**
 * Everything a request needs, frozen: the gateway-wide plan, the route table and each tenant with
 * its pool. A request takes the current snapshot once and uses it to the end, so a reload (which
 * swaps in a new snapshot) never changes a request half-way. Backend health is shared through the
 * {@link HealthRegistry}, so it carries over. {@code config.SnapshotCompiler} builds it.
 */
public final class Snapshot {

  private final long version;
  private final Instant loadedAt;
  private final String source;
  private final GatewayPlan plan;
  private final List<Tenant> tenants;
  private final RouteTable<Tenant> routes;
  private final List<HealthTarget> healthTargets;

  /** @param source where the config came from (a file name), for the admin API */
  public Snapshot(long version, Instant loadedAt, String source, GatewayPlan plan, List<Tenant> tenants,
                  RouteTable<Tenant> routes, List<HealthTarget> healthTargets) {
    this.version = version;
    this.loadedAt = loadedAt;
    this.source = source;
    this.plan = plan;
    this.tenants = List.copyOf(tenants);
    this.routes = routes;
    this.healthTargets = List.copyOf(healthTargets);
  }

  public long version() {
    return version;
  }

  public Instant loadedAt() {
    return loadedAt;
  }

  public String source() {
    return source;
  }

  public GatewayPlan plan() {
    return plan;
  }

  public List<Tenant> tenants() {
    return tenants;
  }

  public RouteTable<Tenant> routes() {
    return routes;
  }

  public List<HealthTarget> healthTargets() {
    return healthTargets;
  }

  public List<String> stateKeys() {
    return healthTargets.stream().map(HealthTarget::key).toList();
  }
}
