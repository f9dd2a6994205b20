package dev.keystone.routing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Chooses a tenant for a request, with the original priority: host+path (hybrid, longest prefix)
 * over host only over longest path prefix. Hosts match case-insensitively and without port;
 * {@code *.example.com} matches any subdomain, the most specific wildcard winning, and an exact
 * host always beating a wildcard. Lookups are hash-based, so thousands of tenants cost the same
 * as one. Immutable once built.
 *
 * @param <T> what a route leads to (a tenant's runtime, in the gateway)
 */
public final class RouteTable<T> {

  /**
   * A successful match.
   *
   * @param target the matched tenant
   * @param prefix the matched path prefix ("" for host-only routes)
   */
  public record Match<T>(T target, String prefix) {
  }

  private static final class HostRoutes<T> {
    final PrefixIndex<T> hybrid = new PrefixIndex<>();
    T hostOnly;
  }

  private final Map<String, HostRoutes<T>> exact;
  private final Map<String, HostRoutes<T>> wildcard; // keyed by suffix with leading dot: ".example.com"
  private final PrefixIndex<T> paths;

  private RouteTable(Builder<T> b) {
    this.exact = b.exact;
    this.wildcard = b.wildcard;
    this.paths = b.paths;
  }

  public static <T> Builder<T> builder() {
    return new Builder<>();
  }

  /**
   * @param host a host already normalised by {@link Hosts#normalize} (may be empty)
   * @param path the request path, starting with '/'
   */
  public Match<T> match(String host, String path) {
    List<HostRoutes<T>> candidates = hostCandidates(host);
    for (HostRoutes<T> c : candidates) {
      Match<T> m = c.hybrid.match(path);
      if (m != null) {
        return m;
      }
    }
    for (HostRoutes<T> c : candidates) {
      if (c.hostOnly != null) {
        return new Match<>(c.hostOnly, "");
      }
    }
    return paths.match(path);
  }

  /** True when some host or hybrid tenant claims this host, whatever the path. */
  public boolean claimsHost(String host) {
    return !hostCandidates(host).isEmpty();
  }

  private List<HostRoutes<T>> hostCandidates(String host) {
    if (host.isEmpty() || (exact.isEmpty() && wildcard.isEmpty())) {
      return List.of();
    }
    HostRoutes<T> e = exact.get(host);
    if (wildcard.isEmpty()) {
      return e == null ? List.of() : List.of(e);
    }
    List<HostRoutes<T>> out = new ArrayList<>(2);
    if (e != null) {
      out.add(e);
    }
    for (int dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      HostRoutes<T> w = wildcard.get(host.substring(dot));
      if (w != null) {
        out.add(w);
      }
    }
    return out;
  }

  /** Collects routes; conflicting claims are rejected by the config validator beforehand. */
  public static final class Builder<T> {
    private final Map<String, HostRoutes<T>> exact = new HashMap<>();
    private final Map<String, HostRoutes<T>> wildcard = new HashMap<>();
    private final PrefixIndex<T> paths = new PrefixIndex<>();

    private HostRoutes<T> host(String domain) {
      if (domain.startsWith("*.")) {
        return wildcard.computeIfAbsent(domain.substring(1), k -> new HostRoutes<>());
      }
      return exact.computeIfAbsent(domain, k -> new HostRoutes<>());
    }

    public Builder<T> hybrid(String domain, String prefix, T target) {
      host(domain).hybrid.put(prefix, target);
      return this;
    }

    public Builder<T> host(String domain, T target) {
      HostRoutes<T> h = host(domain);
      if (h.hostOnly == null) {
        h.hostOnly = target;
      }
      return this;
    }

    public Builder<T> path(String prefix, T target) {
      paths.put(prefix, target);
      return this;
    }

    public RouteTable<T> build() {
      return new RouteTable<>(this);
    }
  }
}
