package dev.keystone.proxy;

import io.vertx.core.MultiMap;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection, so a proxy must not
 * pass them on, in either direction. That is the fixed list below plus every header named in
 * {@code Connection}. The same unit as {@code removeHopByHopHeaders} in Go's ReverseProxy.
 */
public final class HopByHop {

  /** The fixed list, lower-case. Proxy-Authenticate/-Authorization are for this proxy only. */
  static final Set<String> FIXED = Set.of(
      "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
      "te", "trailer", "transfer-encoding", "upgrade");

  private HopByHop() {
  }

  /**
   * Copies {@code from} into {@code to} without hop-by-hop headers.
   *
   * @param skip one more header to leave out (lower-case, e.g. "host"), or null
   */
  public static void copy(MultiMap from, MultiMap to, String skip) {
    Set<String> named = connectionTokens(from);
    for (Map.Entry<String, String> h : from) {
      String name = h.getKey();
      if (isHopByHop(name, named) || (skip != null && name.equalsIgnoreCase(skip))) {
        continue;
      }
      to.add(name, h.getValue());
    }
  }

  static boolean isHopByHop(String name, Set<String> named) {
    String lower = name.toLowerCase(Locale.ROOT);
    return FIXED.contains(lower) || named.contains(lower);
  }

  /** Header names listed in Connection (lower-case), e.g. {@code Connection: close, X-Foo}. */
  static Set<String> connectionTokens(MultiMap headers) {
    java.util.List<String> values = headers.getAll("connection");
    if (values.isEmpty()) {
      return Set.of();
    }
    java.util.HashSet<String> out = new java.util.HashSet<>();
    for (String v : values) {
      for (String token : v.split(",")) {
        String t = token.trim().toLowerCase(Locale.ROOT);
        if (!t.isEmpty()) {
          out.add(t);
        }
      }
    }
    return out;
  }
}
