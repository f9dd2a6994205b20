package dev.keystone.config;

import dev.keystone.model.EscapedSlashes;


import dev.keystone.script.LuaScript;

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
 * @param script               that script compiled, or null (no script, or one run by a remote
 *                             {@code lua_engine})
 * @param scriptFailOpen       on a script failure: true to route as if there were no script,
 *                             false to answer 500 ({@code on_script_error: fail_open|fail_closed})
 * @param scriptBody           the most request-body bytes the script gets as {@code req.body}
 *                             ({@code script_body}); 0: the script sees no body
 * @param services             the backends
 * @param escapedSlashes       what to do with %2F and %5C in this tenant's paths
 * @param isolationGroup       with {@code isolation: process}, the group whose engine process runs
 *                             this tenant's script (its {@code isolation_group}, else its name);
 *                             null: the script runs where the tenant's other settings say
 * @param ownEngine            the engine of that group once the gateway has started it (its
 *                             socket); null until then, and for tenants without isolation
 * @param tls                  the certificate served for the tenant's domains ({@code tls}), or null
 * @param httpsRedirect        plain-HTTP requests are redirected to HTTPS ({@code https_redirect})
 * @param clientAuth           client certificates asked for in its handshakes ({@code client_ca}), or null
 * @param hsts                 the max-age of the Strict-Transport-Security header on HTTPS answers
 *                             ({@code hsts}), or null for none
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
    LuaScript script,
    boolean scriptFailOpen,
    long scriptBody,
    boolean scriptShadow,
    List<ServiceConfig> services,
    EscapedSlashes escapedSlashes,
    String isolationGroup,
    LuaEngineConfig ownEngine,
    ServerCertificate tls,
    boolean httpsRedirect,
    java.time.Duration hsts,
    ClientAuth clientAuth,
    MirrorConfig mirror,
    dev.keystone.model.CatalogScript catalog,
    dev.keystone.model.TenantPolicies policies) {

  public TenantConfig {
    domains = List.copyOf(domains);
    services = List.copyOf(services);
    policies = policies == null ? dev.keystone.model.TenantPolicies.NONE : policies;
  }

  /** The same tenant, its script run by {@code engine} (the gateway started it for the tenant's group). */
  public TenantConfig withOwnEngine(LuaEngineConfig engine) {
    return new TenantConfig(name, domains, pathPrefix, healthInterval, rawHealthInterval, stripPrefix, preserveHost,
        luaScript, script, scriptFailOpen, scriptBody, scriptShadow, services, escapedSlashes, isolationGroup, engine, tls, httpsRedirect, hsts, clientAuth, mirror, catalog, policies);
  }

  public boolean hasDomains() {
    return !domains.isEmpty();
  }

  public boolean hasPathPrefix() {
    return pathPrefix != null;
  }
}
