package dev.keystone.proxy;

import io.vertx.core.MultiMap;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection, so a proxy must not
 * pass them on, in either direction. That is the fixed list below plus every header named in
 * {@code Connection}, on every Connection line, every token. The same unit as
 * {@code removeHopByHopHeaders} in Go's ReverseProxy.
 *
 * <p>This runs twice per request, so it avoids allocating: names are compared in place, ignoring
 * case, and Connection values are only split when they name something beyond the usual
 * {@code keep-alive}, {@code close} or {@code upgrade}.
 */
public final class HopByHop {

  /** The fixed list. Proxy-Authenticate/-Authorization are for this proxy only. */
  static final String[] FIXED = {
      "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
      "te", "trailer", "transfer-encoding", "upgrade"};

  private HopByHop() {
  }

  /**
   * Copies {@code from} into {@code to} without hop-by-hop headers.
   *
   * @param skip one more header to leave out (e.g. "host"), or null
   */
  public static void copy(MultiMap from, MultiMap to, String skip) {
    copy(from, to::add, skip);
  }

  /** The same for any headers (Netty's): {@code to} adds one header. */
  public static void copy(Iterable<Map.Entry<String, String>> from, java.util.function.BiConsumer<String, String> to,
                          String skip) {
    List<String> named = null;
    for (Map.Entry<String, String> h : from) {
      if (h.getKey().length() == 10 && h.getKey().equalsIgnoreCase("connection")) {
        named = connectionTokens(h.getValue(), named);
      }
    }
    for (Map.Entry<String, String> h : from) {
      String name = h.getKey();
      if (isFixed(name) || (skip != null && name.equalsIgnoreCase(skip)) || (named != null && contains(named, name))
          || (name.indexOf('_') >= 0 && isUnderscoreTwin(name))) {
        continue;
      }
      to.accept(name, h.getValue());
    }
  }

  /** Headers whose meaning a gateway or a backend relies on, written with dashes. */
  private static final String[] MANAGED = {"content-length", "transfer-encoding", "host", "connection",
      "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-request-id", "forwarded", "via",
      "x-real-ip", "expect", "upgrade", "keep-alive", "te", "trailer", "proxy-authorization"};

  /**
   * {@code Transfer_Encoding}, {@code X_Forwarded_For}...: CGI, WSGI and some frameworks read
   * {@code _} as {@code -}, so such a header would speak for the real one, unchecked (nginx drops
   * headers with underscores by default). Only twins of the headers above are dropped.
   */
  static boolean isUnderscoreTwin(String name) {
    String dashed = name.replace('_', '-');
    for (String m : MANAGED) {
      if (m.equalsIgnoreCase(dashed)) {
        return true;
      }
    }
    return false;
  }

  /** Removes the hop-by-hop headers from {@code h} (as {@link #copy} leaves them out). */
  static void strip(io.netty.handler.codec.http.HttpHeaders h) {
    List<String> named = null;
    List<String> out = null;
    for (Map.Entry<String, String> e : h) {
      String name = e.getKey();
      if (name.length() == 10 && name.equalsIgnoreCase("connection")) {
        named = connectionTokens(e.getValue(), named);
      }
      if (isFixed(name) || (name.indexOf('_') >= 0 && isUnderscoreTwin(name))) {
        if (out == null) {
          out = new ArrayList<>(4);
        }
        out.add(name);
      }
    }
    if (named != null) {
      named.forEach(h::remove);
    }
    if (out != null) {
      out.forEach(h::remove);
    }
  }

  /** Whether a header is hop-by-hop by itself (not counting those named in Connection). */
  static boolean isFixed(String name) {
    int n = name.length();
    if (n < 2 || n > 19) {
      return false;
    }
    char c = (char) (name.charAt(0) | 0x20); // lower-case ASCII letter
    if (c != 'c' && c != 'k' && c != 'p' && c != 't' && c != 'u') {
      return false; // most headers stop here
    }
    for (String f : FIXED) {
      if (f.length() == n && f.regionMatches(true, 0, name, 0, n)) {
        return true;
      }
    }
    return false;
  }

  private static boolean contains(List<String> names, String name) {
    for (String n : names) {
      if (n.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Adds the extra header names listed in one Connection value (e.g. {@code X-Foo} in
   * {@code Connection: close, X-Foo}) to {@code out}; returns the list, null while there are none
   * (the common case).
   */
  static List<String> connectionTokens(String connection, List<String> out) {
    if (connection == null || isPlain(connection)) {
      return out;
    }
    for (String token : connection.split(",")) {
      String t = token.trim();
      if (!t.isEmpty() && !isFixed(t)) {
        if (out == null) {
          out = new ArrayList<>(2);
        }
        out.add(t);
      }
    }
    return out;
  }

  private static boolean isPlain(String v) {
    return v.equalsIgnoreCase("keep-alive") || v.equalsIgnoreCase("close") || v.equalsIgnoreCase("upgrade");
  }
}
