package dev.keystone.config;

import java.time.Duration;
import java.util.List;

/**
 * One tenant: who it serves (domains and/or a path prefix) and where it sends requests.
 *
 * @param name                 unique name
 * @param domains              lower-cased host names; entries may start with {@code *.}
 * @param pathPrefix           prefix starting and ending with {@code /}, or null
 * @param healthInterval       time between active health checks
 * @param rawHealthInterval    the interval in whole seconds as configured (0 when absent, 10 when
 *                             written as 0), for the original {@code /tenants} output
 * @param stripPrefix          whether the matched prefix is removed before forwarding
 * @param preserveHost         whether the client's Host header is sent to the backend
 * @param luaScript            name of the tenant's routing script, or null
 * @param services             the backends
 */
public record TenantConfig(
    String name,
    List<String> domains,
    String pathPrefix,
    Duration healthInterval,
    long rawHealthInterval,
    boolean stripPrefix,
    boolean preserveHost,
    String luaScript,
    List<ServiceConfig> services) {

  public TenantConfig {
    domains = List.copyOf(domains);
    services = List.copyOf(services);
  }

  public boolean hasDomains() {
    return !domains.isEmpty();
  }

  public boolean hasPathPrefix() {
    return pathPrefix != null;
  }
}
