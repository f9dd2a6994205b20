package dev.keystone.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Semantic checks across the bound records: names, URLs, domains, prefixes and routing
 * conflicts. Adds to the same error list as the binder, so a user sees every problem at once.
 */
final class ConfigValidator {

  private final Problems problems;

  ConfigValidator(Problems problems) {
    this.problems = problems;
  }

  void validate(GatewayConfig config) {
    String admin = config.adminBasePath();
    if (!admin.isEmpty() && !admin.startsWith("/")) {
      problems.add("admin_base_path", "must start with '/', got '" + admin + "'");
    }
    AdminConfig a = config.admin();
    if (a.enabled() && a.listen().port() != 0 && a.listen().port() == config.listen().port()
        && (a.listen().host().equals(config.listen().host()) || a.listen().host().equals("0.0.0.0")
            || config.listen().host().equals("0.0.0.0"))) {
      problems.add("admin.listen", "the admin listener needs a port of its own, not the proxy's (" + config.listen() + ")");
    }
    if (config.luaEngine().enabled() && config.luaEngine().supervise() == null) {
      if (config.luaEngine().urls().isEmpty()) {
        checkUrl("lua_engine.url", null);
      }
      for (String url : config.luaEngine().urls()) {
        if (url.startsWith("unix:")) { // an engine on a Unix socket beside the gateway
          if (!url.startsWith("unix:/") || url.length() < 7) {
            problems.add("lua_engine.url", "a Unix socket address is unix:/absolute/path.sock, got '" + url + "'");
          }
        } else {
          checkUrl("lua_engine.url", url);
        }
      }
    }
    Map<String, Integer> names = new HashMap<>();
    Map<String, String> routes = new HashMap<>(); // route key -> tenant that claims it
    List<TenantConfig> tenants = config.tenants();
    for (int i = 0; i < tenants.size(); i++) {
      TenantConfig t = tenants.get(i);
      String at = "tenants[" + i + "]";
      Integer previous = names.putIfAbsent(t.name(), i);
      if (previous != null && !t.name().isEmpty()) {
        problems.add(at + ".name", "duplicate tenant name '" + t.name() + "' (also tenants[" + previous + "])");
      }
      if (!t.hasDomains() && !t.hasPathPrefix()) {
        problems.add(at, "tenant '" + t.name() + "' must specify domains, path_prefix, or both");
      }
      for (int d = 0; d < t.domains().size(); d++) {
        String domain = t.domains().get(d);
        if (!ConfigSyntax.validDomain(domain)) {
          problems.add(at + ".domains[" + d + "]", "invalid domain '" + domain
              + "': expected a host name with a dot, like app.example.com or *.example.com (no port, no spaces)");
        }
      }
      if (t.hasPathPrefix() && !ConfigSyntax.validPathPrefix(t.pathPrefix())) {
        problems.add(at + ".path_prefix", "invalid path_prefix '" + t.pathPrefix()
            + "': it must start and end with '/', like /api/ (no '//', spaces, '?' or '#')");
      } else if (t.hasPathPrefix() && (t.pathPrefix().contains("/./") || t.pathPrefix().contains("/../"))) {
        problems.add(at + ".path_prefix", "path_prefix must not contain '.' or '..' segments");
      }
      claimRoutes(t, at, routes);
      Set<String> serviceNames = new HashSet<>();
      for (int s = 0; s < t.services().size(); s++) {
        ServiceConfig svc = t.services().get(s);
        String sat = at + ".services[" + s + "]";
        if (!svc.name().isEmpty() && !serviceNames.add(svc.name())) {
          problems.add(sat + ".name", "duplicate service name '" + svc.name() + "' in tenant '" + t.name() + "'");
        }
        if (!svc.url().isEmpty()) {
          checkUrl(sat + ".url", svc.url());
        }
        if (svc.health().contains("?") || svc.health().contains("#") || svc.health().contains(" ")) {
          problems.add(sat + ".health", "health must be a path like /health, got '" + svc.health() + "'");
        }
      }
    }
  }

  /** Two tenants may not claim the same host+prefix, host, or prefix. */
  private void claimRoutes(TenantConfig t, String at, Map<String, String> routes) {
    if (t.hasDomains()) {
      for (String domain : t.domains()) {
        String key = t.hasPathPrefix() ? "host " + domain + " with prefix " + t.pathPrefix() : "host " + domain;
        claim(routes, key, t, at + ".domains");
      }
    } else if (t.hasPathPrefix()) {
      claim(routes, "prefix " + t.pathPrefix(), t, at + ".path_prefix");
    }
  }

  private void claim(Map<String, String> routes, String key, TenantConfig t, String at) {
    String other = routes.putIfAbsent(key, t.name());
    if (other != null && !other.equals(t.name())) {
      problems.add(at, "tenant '" + t.name() + "' claims " + key + ", already claimed by tenant '" + other + "'");
    }
  }

  private void checkUrl(String key, String url) {
    if (url == null || url.isBlank()) {
      problems.add(key, "missing url");
      return;
    }
    try {
      URI u = new URI(url);
      String scheme = u.getScheme();
      if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
        problems.add(key, "invalid url '" + url + "': the scheme must be http:// or https://");
      } else if (u.getHost() == null || u.getHost().isEmpty()) {
        problems.add(key, "invalid url '" + url + "': it has no host");
      } else if (u.getRawUserInfo() != null) {
        problems.add(key, "invalid url '" + url + "': user:password@ is not supported; use a header instead");
      } else if (u.getRawFragment() != null) {
        problems.add(key, "invalid url '" + url + "': a fragment (#...) means nothing to a backend");
      }
    } catch (URISyntaxException e) {
      problems.add(key, "invalid url '" + url + "': " + e.getReason());
    }
  }
}
