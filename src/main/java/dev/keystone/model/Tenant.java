package dev.keystone.model;

import java.time.Duration;
import java.util.List;

/**
 * A tenant as served, compiled from its config when a {@link Snapshot} is built: how requests are
 * matched and rewritten, its script plan and its pool of backends. The hot path reads only this.
 *
 * @param healthInterval    how often each backend is checked
 * @param rawHealthInterval the interval as written (seconds), shown by the original admin endpoints
 * @param script            the tenant's routing script, or null when it has none
 * @param httpsRedirect     plain-HTTP requests are redirected to the TLS listener
 * @param hsts              the Strict-Transport-Security value for answers over TLS, or null
 * @param clientCertificates whether its TLS clients present certificates (mutual TLS)
 * @param clientAuthKey     what a handshake made for it proves (its client CA and mode; "" for none)
 * @param mirror            where a copy of a share of its requests goes (answers discarded), or null
 */
public record Tenant(
    String name,
    List<String> domains,
    String pathPrefix,
    Duration healthInterval,
    long rawHealthInterval,
    boolean stripPrefix,
    boolean preserveHost,
    EscapedSlashes escapedSlashes,
    TenantScript script,
    Pool pool,
    boolean httpsRedirect,
    String hsts,
    ClientCertificates clientCertificates,
    String clientAuthKey,
    Mirror mirror,
    TenantPolicies policies) {

  /** A copy of {@code percent} % of the tenant's requests goes to {@code backend} (one of its pool's). */
  public record Mirror(Backend backend, int percent) {
  }


  public Tenant {
    domains = List.copyOf(domains);
    clientCertificates = clientCertificates == null ? ClientCertificates.NONE : clientCertificates;
    clientAuthKey = clientAuthKey == null ? "" : clientAuthKey;
    policies = policies == null ? TenantPolicies.NONE : policies;
  }

  public boolean hasDomains() {
    return !domains.isEmpty();
  }

  public boolean hasPathPrefix() {
    return pathPrefix != null;
  }
}
