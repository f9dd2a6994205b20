package dev.keystone.proxy;

import java.util.List;

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

  /**
   * Sets them in {@code out}, the end-to-end headers of the request {@code head} being forwarded
   * (over TLS when {@code secure}).
   */
  static void apply(RequestHead head, boolean secure, String host, io.netty.handler.codec.http.HttpHeaders out) {
    // What earlier hops wrote is read from the headers being forwarded: one the client named in
    // Connection is hop-by-hop and already gone, and is not appended to (attack D1-5).
    apply(head.clientAddress(), secure, head.http2() ? VIA_2 : via(head.version()), name -> out.contains(name) ? out.getAll(name) : List.of(),
        host, out::set);
  }

  private static void apply(String client, boolean secure, String viaEntry,
                            java.util.function.Function<String, java.util.List<String>> in, String host,
                            java.util.function.BiConsumer<String, String> set) {
    String proto = secure ? "https" : "http";
    if (client != null) {
      set.accept("X-Forwarded-For", appended(in.apply("X-Forwarded-For"), client));
    }
    set.accept("X-Forwarded-Proto", proto);
    if (host != null) {
      set.accept("X-Forwarded-Host", host);
    }
    StringBuilder element = new StringBuilder(64);
    if (client != null) {
      element.append("for=").append(client.indexOf(':') >= 0 ? "\"[" + client + "]\"" : client).append(';');
    }
    if (host != null && !host.isEmpty()) {
      element.append("host=").append(dev.keystone.script.EditRules.isToken(host) ? host : "\"" + host.replace("\\", "\\\\").replace("\"", "\\\"") + "\"")
          .append(';');
    }
    element.append("proto=").append(proto);
    set.accept("Forwarded", appended(in.apply("Forwarded"), element.toString()));
    set.accept("Via", appended(in.apply("Via"), viaEntry));
  }

  /** This hop's Via entry for a message received as {@code version}. */
  static String via(io.netty.handler.codec.http.HttpVersion version) {
    return version == io.netty.handler.codec.http.HttpVersion.HTTP_1_0 ? VIA_10 : VIA_11;
  }

  private static final String VIA_10 = "1.0 " + PSEUDONYM;
  private static final String VIA_11 = "1.1 " + PSEUDONYM;
  /** RFC 9110 section 7.6.3: the protocol received, "2" for HTTP/2. */
  private static final String VIA_2 = "2 " + PSEUDONYM;

  /** {@code prior} (the lines of a list header) as one list, with {@code value} at its end. */
  static String appended(java.util.List<String> prior, String value) {
    if (prior.isEmpty()) {
      return value;
    }
    // Several lines of a list header count as one comma-separated list (empty lines are empty
    // elements, not the end of the list); the usual case has one line.
    StringBuilder sb = new StringBuilder(64);
    for (String v : prior) {
      String t = v.trim();
      if (!t.isEmpty()) {
        sb.append(t).append(", ");
      }
    }
    return sb.append(value).toString();
  }
}
