package dev.keystone.proxy;

import io.netty.util.AsciiString;

import java.util.ArrayList;
import java.util.Iterator;
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
   * Copies {@code from} into {@code to} without hop-by-hop headers. It walks the headers with
   * {@code iteratorCharSequence}, whose entries are the map's own: the String iterator of Vert.x's
   * map wraps each entry in a new object, twice per header per request here.
   *
   * @param skip one more header to leave out (e.g. "host"), or null
   */
  public static void copy(io.netty.handler.codec.http.HttpHeaders from, java.util.function.BiConsumer<String, String> to,
                          String skip) {
    List<String> named = null;
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = from.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> h = it.next();
      CharSequence key = h.getKey();
      if (key.length() == 10 && key.toString().equalsIgnoreCase("connection")) {
        named = connectionTokens(h.getValue().toString(), named);
      }
    }
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = from.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> h = it.next();
      String name = h.getKey().toString();
      if (isFixed(name) || (skip != null && name.equalsIgnoreCase(skip)) || (named != null && contains(named, name))
          || (name.indexOf('_') >= 0 && isUnderscoreTwin(name))) {
        continue;
      }
      to.accept(name, h.getValue().toString());
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
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> e = it.next();
      // A backend's header names are Netty's AsciiStrings: compared as they are, turned into
      // Strings only when removed (a String per header per response before).
      CharSequence name = e.getKey();
      if (name.length() == 10 && AsciiString.contentEqualsIgnoreCase(name, "connection")) {
        named = connectionTokens(e.getValue().toString(), named);
      }
      if (isFixed(name) || (hasUnderscore(name) && isUnderscoreTwin(name.toString()))) {
        if (out == null) {
          out = new ArrayList<>(4);
        }
        out.add(name.toString());
      }
    }
    if (named != null) {
      named.forEach(h::remove);
    }
    if (out != null) {
      out.forEach(h::remove);
    }
  }

  private static boolean hasUnderscore(CharSequence name) {
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) == '_') {
        return true;
      }
    }
    return false;
  }

  /** Whether a header is hop-by-hop by itself (not counting those named in Connection). */
  static boolean isFixed(CharSequence name) {
    int n = name.length();
    if (n < 2 || n > 19) {
      return false;
    }
    char c = (char) (name.charAt(0) | 0x20); // lower-case ASCII letter
    if (c != 'c' && c != 'k' && c != 'p' && c != 't' && c != 'u') {
      return false; // most headers stop here
    }
    for (String f : FIXED) {
      if (f.length() == n && AsciiString.contentEqualsIgnoreCase(f, name)) {
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
