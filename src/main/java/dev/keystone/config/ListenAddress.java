package dev.keystone.config;

/**
 * A host and port to listen on. Accepts the original Go forms {@code :8080} (all interfaces),
 * {@code 8080}, {@code 127.0.0.1:8080} and {@code [::1]:8080}.
 */
public record ListenAddress(String host, int port) {

  /** Parses an address; throws IllegalArgumentException with a readable message. */
  public static ListenAddress parse(String text) {
    String s = text.trim();
    String host;
    String port;
    if (s.startsWith("[")) {
      int end = s.indexOf(']');
      if (end < 0 || end + 1 >= s.length() || s.charAt(end + 1) != ':') {
        throw new IllegalArgumentException("expected [ipv6]:port, got '" + text + "'");
      }
      host = s.substring(1, end);
      port = s.substring(end + 2);
    } else {
      int colon = s.lastIndexOf(':');
      host = colon < 0 ? "" : s.substring(0, colon);
      port = colon < 0 ? s : s.substring(colon + 1);
    }
    int p;
    try {
      p = Integer.parseInt(port);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid port in '" + text + "'");
    }
    if (p < 0 || p > 65535) {
      throw new IllegalArgumentException("port out of range in '" + text + "'");
    }
    return new ListenAddress(host.isEmpty() ? "0.0.0.0" : host, p);
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
