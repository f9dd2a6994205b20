package dev.keystone.config;

import dev.keystone.model.Backend;
import dev.keystone.model.GatewayPlan;
import dev.keystone.model.HealthRegistry;
import dev.keystone.model.HealthTarget;
import dev.keystone.model.Pool;
import dev.keystone.model.RemoteEngine;
import dev.keystone.model.RoundRobin;
import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;
import dev.keystone.model.TenantScript;
import dev.keystone.routing.RouteTable;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles a validated config into the runtime model: each tenant's plan (routing flags, where its
 * script runs), its pool over backends whose runtime state comes from the registry (so health
 * and drains carry over a reload), the route table and the health-check targets.
 */
public final class SnapshotCompiler {

  private SnapshotCompiler() {
  }

  public static Snapshot compile(GatewayConfig config, long version, Instant now, HealthRegistry registry) {
    return compile(config, version, now, registry, new dev.keystone.model.TrafficSplits());
  }

  /** As above, each tenant's pool with its canary share from {@code splits} (kept by tenant name across reloads). */
  public static Snapshot compile(GatewayConfig config, long version, Instant now, HealthRegistry registry,
                                 dev.keystone.model.TrafficSplits splits) {
    List<Tenant> tenants = new ArrayList<>();
    List<HealthTarget> targets = new ArrayList<>();
    RouteTable.Builder<Tenant> routes = RouteTable.builder();
    // Thousands of tenants often share a few URLs: each is parsed once (URI parsing was a third
    // of compiling a 10,000-tenant snapshot).
    Map<String, Backend.Address> addresses = new HashMap<>();
    for (TenantConfig tc : config.tenants()) {
      List<Backend> backends = new ArrayList<>(tc.services().size());
      for (ServiceConfig s : tc.services()) {
        String key = s.stateKey();
        Backend b = s.backend(addresses.computeIfAbsent(s.url(), Backend.Address::parse), registry.stateFor(key));
        backends.add(b);
        targets.add(new HealthTarget(key, b, tc.healthInterval()));
      }
      Tenant.Mirror mirror = null;
      if (tc.mirror() != null) {
        for (Backend b : backends) {
          if (b.name().equals(tc.mirror().backend())) {
            mirror = new Tenant.Mirror(b, tc.mirror().percent());
          }
        }
      }
      Tenant t = new Tenant(tc.name(), tc.domains(), tc.pathPrefix(), tc.healthInterval(), tc.rawHealthInterval(),
          tc.stripPrefix(), tc.preserveHost(), tc.escapedSlashes(), script(config, tc),
          new Pool(backends, new RoundRobin(backends), splits.splitFor(tc.name())), tc.httpsRedirect(),
          tc.hsts() == null ? null : "max-age=" + tc.hsts().toSeconds(),
          tc.clientAuth() == null ? dev.keystone.model.ClientCertificates.NONE : tc.clientAuth().required()
              ? dev.keystone.model.ClientCertificates.REQUIRED : dev.keystone.model.ClientCertificates.OPTIONAL,
          ClientAuth.keyOf(tc.clientAuth()), mirror, tc.policies());
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
    GatewayPlan plan = GatewayPlan.of(config.timeouts(), config.limits(), config.passiveHealth(),
        config.adminBasePath(), config.luaEngine().timeout());
    return new Snapshot(version, now, config.source(), plan, tenants, routes.build(), targets);
  }

  /** Embedded when compiled here; else the tenant's own engine (isolation: process), else lua_engine. */
  private static TenantScript script(GatewayConfig config, TenantConfig tc) {
    if (tc.luaScript() == null) {
      return null;
    }
    RemoteEngine remote = null;
    if (tc.script() == null) {
      LuaEngineConfig engine = tc.ownEngine() != null ? tc.ownEngine() : config.luaEngine();
      if (engine.enabled()) {
        remote = new RemoteEngine(engine.urls(), engine.timeout());
      }
    }
    return new TenantScript(tc.luaScript(), tc.script(), remote, config.scriptLimits(), tc.scriptFailOpen(),
        tc.scriptBody(), tc.scriptShadow(), tc.catalog());
  }
}
