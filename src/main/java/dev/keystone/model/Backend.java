package dev.keystone.model;

import dev.keystone.script.BackendView;

import java.net.URI;
import java.util.Map;

/**
 * A backend as the proxy needs it: its URL taken apart once (host, port, TLS, base path and
 * query) plus its shared runtime {@link BackendHealth}. Scripts see it as a {@link BackendView}.
 */
public final class Backend implements BackendView {

  private final String name;
  private final String url;
  private final int weight;
  private final Map<String, String> labels;
  private final UpstreamTls tls;
  private final String healthPath;
  private final String host;
  private final int port;
  private final boolean ssl;
  private final String basePath;   // "" or "/v1" (never ends with '/')
  private final String baseQuery;  // null or "a=b"
  private final String healthUri;
  private final BackendHealth health;
  /** No round-robin turns (see {@link RoundRobin}). */
  private final boolean standby;

  /**
   * @param healthPath the active check's path, relative to the URL's path
   * @throws IllegalArgumentException when the URL cannot be parsed
   */
  public Backend(String name, String url, String healthPath, int weight, Map<String, String> labels, UpstreamTls tls,
                 BackendHealth health) {
    this(name, Address.parse(url), healthPath, weight, labels, tls, health);
  }

  /** A backend at {@code address}: many backends of one config share a URL, parsed once (issue 14, start-up). */
  public Backend(String name, Address address, String healthPath, int weight, Map<String, String> labels, UpstreamTls tls,
                 BackendHealth health) {
    this(name, address, healthPath, weight, labels, tls, health, false);
  }

  /** @param standby no round-robin turns: only a script's route_to, a rollout's share, or no other healthy */
  public Backend(String name, Address address, String healthPath, int weight, Map<String, String> labels, UpstreamTls tls,
                 BackendHealth health, boolean standby) {
    this.standby = standby;
    this.name = name;
    this.url = address.url();
    this.weight = weight;
    this.labels = labels;
    this.tls = tls;
    this.healthPath = healthPath;
    this.health = health;
    this.ssl = address.ssl();
    this.host = address.host();
    this.port = address.port();
    this.basePath = address.basePath();
    this.baseQuery = address.baseQuery();
    this.healthUri = healthPath.startsWith("/") ? (basePath.isEmpty() ? healthPath : basePath + healthPath)
        : basePath + "/" + healthPath;
  }

  /** A backend URL taken apart. */
  public record Address(String url, boolean ssl, String host, int port, String basePath, String baseQuery) {

    /** @throws IllegalArgumentException when the URL cannot be parsed */
    public static Address parse(String url) {
      URI u = URI.create(url);
      boolean ssl = "https".equalsIgnoreCase(u.getScheme());
      String path = u.getRawPath() == null ? "" : u.getRawPath();
      return new Address(url, ssl, u.getHost(), u.getPort() > 0 ? u.getPort() : (ssl ? 443 : 80),
          path.endsWith("/") ? path.substring(0, path.length() - 1) : path, u.getRawQuery());
    }
  }

  /** The key of this backend's runtime state: the same URL and health path share one state. */
  public static String stateKey(String url, String healthPath, UpstreamTls tls) {
    // TLS settings decide what a check proves: two of them on one URL are two states.
    boolean https = url.regionMatches(true, 0, "https:", 0, 6);
    return url + " " + healthPath + (https ? " " + tls : "");
  }

  public String name() {
    return name;
  }

  public String url() {
    return url;
  }

  public int weight() {
    return weight;
  }

  public Map<String, String> labels() {
    return labels;
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

  /** The check's path as configured (relative to the URL's path). */
  public String healthPath() {
    return healthPath;
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
  public boolean standby() {
    return standby;
  }

  public boolean healthy() {
    return health.healthy() && !health.drained() && !health.ejected();
  }

  /** How an https backend is verified. */
  public UpstreamTls tls() {
    return tls;
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
