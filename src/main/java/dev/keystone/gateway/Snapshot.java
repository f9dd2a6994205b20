package dev.keystone.gateway;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.TenantConfig;
import dev.keystone.routing.RouteTable;
import dev.keystone.upstream.Backend;
import dev.keystone.upstream.HealthChecker;
import dev.keystone.upstream.HealthRegistry;
import dev.keystone.upstream.Pool;
import dev.keystone.upstream.RoundRobin;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a request needs, frozen: the config, the route table and each tenant's pool. A
 * request takes the current snapshot once and uses it to the end, so a reload (which swaps in a
 * new snapshot) never changes a request half-way. Backend health is shared through the
 * {@link HealthRegistry}, so it carries over.
 */
public final class Snapshot {

  private final GatewayConfig config;
  private final long version;
  private final Instant loadedAt;
  private final List<Tenant> tenants;
  private final RouteTable<Tenant> routes;
  private final List<HealthChecker.Target> healthTargets;

  private Snapshot(GatewayConfig config, long version, Instant loadedAt, List<Tenant> tenants,
                   RouteTable<Tenant> routes, List<HealthChecker.Target> healthTargets) {
    this.config = config;
    this.version = version;
    this.loadedAt = loadedAt;
    this.tenants = List.copyOf(tenants);
    this.routes = routes;
    this.healthTargets = List.copyOf(healthTargets);
  }

  /** Builds a snapshot, reusing the health state of backends already known to the registry. */
  public static Snapshot build(GatewayConfig config, long version, Instant now, HealthRegistry registry) {
    List<Tenant> tenants = new ArrayList<>();
    List<HealthChecker.Target> targets = new ArrayList<>();
    RouteTable.Builder<Tenant> routes = RouteTable.builder();
    for (TenantConfig tc : config.tenants()) {
      List<Backend> backends = new ArrayList<>();
      tc.services().forEach(s -> {
        String key = Backend.stateKey(s);
        Backend b = new Backend(s, registry.stateFor(key));
        backends.add(b);
        targets.add(new HealthChecker.Target(key, b, tc.healthInterval()));
      });
      Tenant t = new Tenant(tc, new Pool(backends, new RoundRobin(backends)));
      tenants.add(t);
      if (tc.hasDomains()) {
        for (String d : tc.domains()) {
          if (tc.hasPathPrefix()) {
            routes.hybrid(d, tc.pathPrefix(), t);
          } else {
            routes.host(d, t);
          }
        }
      } else if (tc.hasPathPrefix()) {
        routes.path(tc.pathPrefix(), t);
      }
    }
    return new Snapshot(config, version, now, tenants, routes.build(), targets);
  }

  public GatewayConfig config() {
    return config;
  }

  public long version() {
    return version;
  }

  public Instant loadedAt() {
    return loadedAt;
  }

  public List<Tenant> tenants() {
    return tenants;
  }

  public RouteTable<Tenant> routes() {
    return routes;
  }

  public List<HealthChecker.Target> healthTargets() {
    return healthTargets;
  }

  public List<String> stateKeys() {
    return healthTargets.stream().map(HealthChecker.Target::key).toList();
  }
}
