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
    ClientCertificates clientCertificates) {

  public Tenant {
    domains = List.copyOf(domains);
    clientCertificates = clientCertificates == null ? ClientCertificates.NONE : clientCertificates;
  }

  /**
   * Whether {@code serverName} (a TLS client's SNI, lower case) is one of this tenant's domains,
   * exactly or under a one-label wildcard: then the handshake used this tenant's certificate.
   */
  public boolean servesName(String serverName) {
    if (serverName == null) {
      return false;
    }
    for (String d : domains) {
      if (d.equals(serverName)) {
        return true;
      }
      int label = serverName.length() - d.length() + 1; // where "*." would start its suffix
      if (d.startsWith("*.") && label > 0 && serverName.endsWith(d.substring(1)) && serverName.indexOf('.') == label) {
        return true;
      }
    }
    return false;
  }

  public boolean hasDomains() {
    return !domains.isEmpty();
  }

  public boolean hasPathPrefix() {
    return pathPrefix != null;
  }
}
