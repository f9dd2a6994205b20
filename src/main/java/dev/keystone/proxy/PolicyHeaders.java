package dev.keystone.proxy;

import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;

import java.util.Set;
import java.util.TreeSet;

/**
 * Removes from every request the headers only the gateway sets: the name of an API key
 * ({@code X-Api-Key-Name} and every tenant's {@code forward_as}) and the JWT claims every tenant
 * forwards ({@code forward_claims}), whatever the request's tenant: a backend may serve several
 * tenants, and a client's copy through a tenant without the policy must not pass for the
 * gateway's (attack s18-policy F5). Runs before the checks that set them.
 */
final class PolicyHeaders implements Interceptor {

  /** The names, for the snapshot they were read from (one interceptor per event loop: no lock). */
  private Snapshot namesOf;
  private Set<String> names = Set.of();

  @Override
  public void handle(Exchange ex) {
    for (String h : gatewayHeaders(ex.snapshot())) {
      ex.head().headers().remove(h);
    }
    ex.next();
  }

  private Set<String> gatewayHeaders(Snapshot s) {
    if (s != namesOf) {
      Set<String> n = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
      n.add(ApiKeyCheck.DEFAULT_NAME_HEADER);
      for (Tenant t : s.tenants()) {
        if (t.policies().apiKey() != null) {
          n.add(t.policies().apiKey().forwardAs());
        }
        if (t.policies().jwt() != null) {
          n.addAll(t.policies().jwt().forwardClaims().values());
        }
      }
      names = n;
      namesOf = s;
    }
    return names;
  }
}
