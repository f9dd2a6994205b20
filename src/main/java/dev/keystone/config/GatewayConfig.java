package dev.keystone.config;

import dev.keystone.model.PassiveHealth;
import dev.keystone.model.Timeouts;
import dev.keystone.model.Limits;
import dev.keystone.model.EscapedSlashes;


import dev.keystone.script.ScriptLimits;

import java.util.List;

/**
 * The whole configuration: immutable data, as loaded and validated from one YAML file.
 * Runtime state (health, counters) is never kept here, so a reload can replace it freely.
 *
 * @param source        where it was loaded from (a file path, or "embedded default")
 * @param listen        address the proxy listens on
 * @param adminBasePath base path of the original read-only admin endpoints ("" means root)
 * @param timeouts      upstream and client timeouts
 * @param limits        request size limits
 * @param luaEngine     the original v1.3 {@code lua_engine} block (kept for compatibility)
 * @param scriptLimits  per-call limits of routing scripts ({@code script_limits})
 * @param tenants       tenants in file order
 * @param admin         the administration listener ({@code admin})
 * @param passiveHealth outlier detection from real traffic ({@code passive_health})
 * @param escapedSlashes what to do with %2F and %5C in paths, unless a tenant says otherwise
 * @param tls           the TLS listener and its certificate for unknown names ({@link ServerTls#NONE}: none)
 */
public record GatewayConfig(
    String source,
    ListenAddress listen,
    String adminBasePath,
    Timeouts timeouts,
    Limits limits,
    LuaEngineConfig luaEngine,
    ScriptLimits scriptLimits,
    List<TenantConfig> tenants,
    AdminConfig admin,
    PassiveHealth passiveHealth,
    EscapedSlashes escapedSlashes,
    ServerTls tls,
    String stateStore,
    ApiKeysFile apiKeys) {

  public GatewayConfig {
    tenants = List.copyOf(tenants);
    tls = tls == null ? ServerTls.NONE : tls;
  }

  /** The same configuration listening elsewhere (the command line overrides the file). */
  public GatewayConfig withListen(ListenAddress other) {
    return new GatewayConfig(source, other, adminBasePath, timeouts, limits, luaEngine, scriptLimits, tenants, admin, passiveHealth, escapedSlashes, tls, stateStore, apiKeys);
  }

  /** The same configuration with another {@code admin} block. */
  public GatewayConfig withAdmin(AdminConfig other) {
    return new GatewayConfig(source, listen, adminBasePath, timeouts, limits, luaEngine, scriptLimits, tenants, other, passiveHealth, escapedSlashes, tls, stateStore, apiKeys);
  }

  /** The same configuration with its admin listener elsewhere (the command line's {@code --admin}). */
  public GatewayConfig withAdminListen(ListenAddress other) {
    return new GatewayConfig(source, listen, adminBasePath, timeouts, limits, luaEngine, scriptLimits, tenants,
        admin.withListen(other), passiveHealth, escapedSlashes, tls, stateStore, apiKeys);
  }

  /** The same configuration with other limits and timeouts (those a reload cannot change stay). */
  public GatewayConfig withLimitsAndTimeouts(Limits l, Timeouts t) {
    return new GatewayConfig(source, listen, adminBasePath, t, l, luaEngine, scriptLimits, tenants, admin, passiveHealth,
        escapedSlashes, tls, stateStore, apiKeys);
  }

  /** The same configuration with other tenants (the same, each given its isolated engine's address). */
  public GatewayConfig withTenants(List<TenantConfig> other) {
    return new GatewayConfig(source, listen, adminBasePath, timeouts, limits, luaEngine, scriptLimits, other, admin, passiveHealth, escapedSlashes, tls, stateStore, apiKeys);
  }

  /** The same configuration with another {@code lua_engine} block (a supervised engine's address). */
  public GatewayConfig withLuaEngine(LuaEngineConfig other) {
    return new GatewayConfig(source, listen, adminBasePath, timeouts, limits, other, scriptLimits, tenants, admin, passiveHealth, escapedSlashes, tls, stateStore, apiKeys);
  }

  /** The same configuration with another TLS listener address (a reload keeps the running one). */
  public GatewayConfig withTlsListen(ListenAddress other) {
    return new GatewayConfig(source, listen, adminBasePath, timeouts, limits, luaEngine, scriptLimits, tenants, admin, passiveHealth,
        escapedSlashes, other == null ? ServerTls.NONE : new ServerTls(other, tls.fallback(), tls.acme()), stateStore, apiKeys);
  }
}
