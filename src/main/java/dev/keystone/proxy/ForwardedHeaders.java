package dev.keystone.proxy;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * The headers a backend uses to know who really called, and through what. X-Forwarded-For gets
 * the client's address appended (keeping what earlier proxies wrote), X-Forwarded-Proto and
 * X-Forwarded-Host describe the request as the client made it; {@code Forwarded} (RFC 7239) gets
 * the same facts appended as one element, so a backend reading either sees the same story; and
 * {@code Via} (RFC 9110 section 7.6.3) records this hop, both ways.
 */
final class ForwardedHeaders {

  /** How this gateway names itself in Via. */
  static final String PSEUDONYM = "keystone";

  private ForwardedHeaders() {
  }

  static void apply(HttpServerRequest request, String host, MultiMap out) {
    String client = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
    String proto = request.isSSL() ? "https" : "http";
    MultiMap in = request.headers();
    if (client != null) {
      out.set("X-Forwarded-For", appended(in, "X-Forwarded-For", client));
    }
    out.set("X-Forwarded-Proto", proto);
    if (host != null) {
      out.set("X-Forwarded-Host", host);
    }
    StringBuilder element = new StringBuilder(64);
    if (client != null) {
      element.append("for=").append(client.indexOf(':') >= 0 ? "\"[" + client + "]\"" : client).append(';');
    }
    if (host != null && !host.isEmpty()) {
      element.append("host=").append(isToken(host) ? host : "\"" + host.replace("\\", "\\\\").replace("\"", "\\\"") + "\"")
          .append(';');
    }
    element.append("proto=").append(proto);
    out.set("Forwarded", appended(in, "Forwarded", element.toString()));
    out.set("Via", appended(in, "Via", via(request.version())));
  }

  /** This hop's Via entry for a message received as {@code version}. */
  static String via(HttpVersion version) {
    return (version == HttpVersion.HTTP_1_0 ? "1.0 " : "1.1 ") + PSEUDONYM;
  }

  /** The values of {@code name} in {@code in} as one list, with {@code value} at its end. */
  static String appended(MultiMap in, String name, String value) {
    String prior = in.get(name);
    if (prior == null) {
      return value;
    }
    // Several lines of a list header count as one comma-separated list (empty lines are empty
    // elements, not the end of the list); the usual case has one line.
    java.util.List<String> all = in.getAll(name);
    StringBuilder sb = new StringBuilder(64);
    for (String v : all) {
      String t = v.trim();
      if (!t.isEmpty()) {
        sb.append(t).append(", ");
      }
    }
    return sb.append(value).toString();
  }

  private static boolean isToken(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
  }
}
