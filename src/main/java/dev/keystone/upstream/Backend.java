package dev.keystone.upstream;

import dev.keystone.config.ServiceConfig;

import java.net.URI;
import java.util.Map;

/**
 * A backend as the proxy needs it: the service config taken apart once (host, port, TLS, base
 * path and query) plus its shared runtime {@link BackendHealth}.
 */
public final class Backend {

  private final ServiceConfig config;
  private final String host;
  private final int port;
  private final boolean ssl;
  private final String basePath;   // "" or "/v1" (never ends with '/')
  private final String baseQuery;  // null or "a=b"
  private final String healthUri;
  private final BackendHealth health;

  public Backend(ServiceConfig config, BackendHealth health) {
    this.config = config;
    this.health = health;
    URI u = URI.create(config.url());
    this.ssl = "https".equalsIgnoreCase(u.getScheme());
    this.host = u.getHost();
    this.port = u.getPort() > 0 ? u.getPort() : (ssl ? 443 : 80);
    String path = u.getRawPath() == null ? "" : u.getRawPath();
    this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    this.baseQuery = u.getRawQuery();
    String h = config.health().startsWith("/") ? config.health() : "/" + config.health();
    this.healthUri = basePath + h;
  }

  /** The key of this backend's runtime state: the same URL and health path share one state. */
  public static String stateKey(ServiceConfig config) {
    // TLS settings decide what a check proves: two of them on one URL are two states.
    boolean https = config.url().regionMatches(true, 0, "https:", 0, 6);
    return config.url() + " " + config.health() + (https ? " " + config.tls() : "");
  }

  public String name() {
    return config.name();
  }

  public String url() {
    return config.url();
  }

  public int weight() {
    return config.weight();
  }

  public Map<String, String> labels() {
    return config.labels();
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public boolean ssl() {
    return ssl;
  }

  /** The value for a Host header naming this backend (port omitted when default). */
  public String authority() {
    boolean defaultPort = ssl ? port == 443 : port == 80;
    String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    return defaultPort ? h : h + ":" + port;
  }

  public String healthUri() {
    return healthUri;
  }

  public BackendHealth health() {
    return health;
  }

  /**
   * Whether new requests may go here: its last health check passed, real requests have not
   * ejected it (passive health), and no operator drained it. This is what selection and scripts
   * see.
   */
  public boolean healthy() {
    return health.healthy() && !health.drained() && !health.ejected();
  }

  /** How an https backend is verified. */
  public dev.keystone.config.UpstreamTls tls() {
    return config.tls();
  }

  /**
   * Builds the request target sent to this backend: the URL's path joined with the forwarded
   * path, and the URL's query merged before the request's (as Go's ReverseProxy did).
   *
   * @param path  forwarded path, starting with '/'
   * @param query the request's raw query, or null
   */
  public String target(String path, String query) {
    String p = basePath.isEmpty() ? path : basePath + path;
    String q;
    if (baseQuery == null || baseQuery.isEmpty()) {
      q = query;
    } else if (query == null || query.isEmpty()) {
      q = baseQuery;
    } else {
      q = baseQuery + "&" + query;
    }
    return q == null || q.isEmpty() ? p : p + "?" + q;
  }

  @Override
  public String toString() {
    return name() + " (" + url() + ")";
  }
}
