package dev.keystone.proxy;

import dev.keystone.model.Limits;
import dev.keystone.routing.Hosts;
import dev.keystone.routing.PathNormalizer;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

import java.util.Map;

/**
 * Refuses requests whose meaning is ambiguous, before anything reaches a backend: the classic
 * request-smuggling shapes (several Host headers, obfuscated Transfer-Encoding, bad
 * Content-Length), a Host that is not a host, control characters in field values, targets that
 * are too long or not a path, and bodies declared too large. Content-Length together with
 * Transfer-Encoding, and targets with control characters, are caught even earlier, by
 * {@link StrictRequestDecoder}, since the decoder would otherwise pass them on.
 */
final class RequestGuard implements Interceptor {

  @Override
  public void handle(Exchange ex) {
    RequestHead req = ex.head();
    Limits limits = ex.snapshot().plan().limits();
    if (req.uri().length() > limits.maxUriLength()) {
      ex.fail(ProxyError.URI_TOO_LONG, "request target longer than " + limits.maxUriLength());
      return;
    }
    // One pass over the headers, without allocating per request (getAll builds a list each time).
    int hosts = 0;
    int transferEncodings = 0;
    int contentLengths = 0;
    String te = null;
    String cl = null;
    for (Map.Entry<String, String> h : req.headers()) {
      String name = h.getKey();
      if (!RequestSyntax.isToken(name)) {
        ex.fail(ProxyError.BAD_REQUEST, "header name is not a token: '" + RequestSyntax.printable(name) + "'");
        return;
      }
      if (RequestSyntax.hasControlChar(h.getValue())) {
        ex.fail(ProxyError.BAD_REQUEST, "control character in the value of " + RequestSyntax.printable(name));
        return;
      }
      if (name.equalsIgnoreCase("host")) {
        hosts++;
      } else if (name.equalsIgnoreCase("transfer-encoding")) {
        transferEncodings++;
        te = h.getValue();
      } else if (name.equalsIgnoreCase("content-length")) {
        contentLengths++;
        cl = h.getValue();
      }
    }
    if (hosts > 1) {
      ex.fail(ProxyError.BAD_REQUEST, "several Host headers");
      return;
    }
    if (hosts == 0 && req.version() == HttpVersion.HTTP_1_1) {
      ex.fail(ProxyError.BAD_REQUEST, "HTTP/1.1 request without Host");
      return;
    }
    if (transferEncodings > 0 && (transferEncodings > 1 || !te.equalsIgnoreCase("chunked")
        || req.version() == HttpVersion.HTTP_1_0)) {
      ex.fail(ProxyError.BAD_REQUEST, "unsupported Transfer-Encoding " + req.headers().getAll("Transfer-Encoding"));
      return;
    }
    if (contentLengths > 1 || (contentLengths == 1 && !isDigits(cl))) {
      ex.fail(ProxyError.BAD_REQUEST, "invalid Content-Length " + req.headers().getAll("Content-Length"));
      return;
    }
    if (contentLengths == 1 && limits.maxBodySize() > 0 && Long.parseLong(cl) > limits.maxBodySize()) {
      ex.fail(ProxyError.BODY_TOO_LARGE, "Content-Length above " + limits.maxBodySize());
      return;
    }
    // A Connection header naming the framing would make a hop drop the very field that says
    // where this request ends (RFC 9110 section 7.6.1 forbids it): refuse, never forward.
    for (String c : req.headers().getAll("Connection")) {
      for (String token : c.split(",")) {
        String t = token.trim();
        if (t.equalsIgnoreCase("content-length") || t.equalsIgnoreCase("transfer-encoding")) {
          ex.fail(ProxyError.BAD_REQUEST, "Connection names a framing header: " + RequestSyntax.printable(t));
          return;
        }
      }
    }
    if (req.method() == HttpMethod.CONNECT) {
      ex.fail(ProxyError.NOT_IMPLEMENTED, "CONNECT is not supported");
      return;
    }
    String expect = req.headers().get("Expect");
    if (expect != null && !expect.equalsIgnoreCase("100-continue")) {
      // The only expectation HTTP defines; forwarding another would ask a backend to honour
      // what the gateway did not check (RFC 9110 section 10.1.1).
      ex.fail(ProxyError.EXPECTATION_FAILED, "unsupported expectation: " + RequestSyntax.printable(expect));
      return;
    }
    String uri = req.uri();
    boolean originForm = uri.startsWith("/");
    boolean asteriskForm = uri.equals("*") && req.method() == HttpMethod.OPTIONS;
    if (!originForm && !asteriskForm && absoluteFormAuthority(uri) == null) {
      // RFC 9112 section 3.2: origin-form, or an http(s) absolute-form; ftp://, a bare "m/x"
      // or "*" with another method than OPTIONS is no target for this gateway.
      ex.fail(ProxyError.BAD_REQUEST, "request target is neither a path nor an http(s) URI: "
          + RequestSyntax.printable(uri));
      return;
    }
    // RFC 9112 section 3.2: a Host with an invalid value is refused even when an absolute-form
    // target's authority replaces it.
    String hostField = req.headers().get("Host");
    String authority = absoluteFormAuthority(req.uri());
    for (String h : new String[] {hostField, authority}) {
      if (h != null && !RequestSyntax.isValidHost(h)) {
        ex.fail(ProxyError.BAD_REQUEST, "not a valid host[:port]: " + RequestSyntax.printable(h));
        return;
      }
    }
    ex.hostHeader = authority != null ? authority : hostField;
    ex.host = Hosts.normalize(ex.hostHeader);
    String ambiguous = RequestSyntax.ambiguousTarget(req.uri());
    if (ambiguous != null) {
      ex.fail(ProxyError.BAD_REQUEST, "request target: " + ambiguous);
      return;
    }
    String path = PathNormalizer.normalize(req.path());
    if (path == null) {
      ex.fail(ProxyError.BAD_REQUEST, "request target is not a valid path");
      return;
    }
    ex.path = path;
    ex.next();
  }

  /** The authority of {@code http://authority/path}, or null for an origin-form target. */
  static String absoluteFormAuthority(String uri) {
    int start;
    if (uri.regionMatches(true, 0, "http://", 0, 7)) {
      start = 7;
    } else if (uri.regionMatches(true, 0, "https://", 0, 8)) {
      start = 8;
    } else {
      return null;
    }
    int end = start;
    while (end < uri.length() && uri.charAt(end) != '/' && uri.charAt(end) != '?' && uri.charAt(end) != '#') {
      end++;
    }
    return end > start ? uri.substring(start, end) : null;
  }

  private static boolean isDigits(String s) {
    if (s.isEmpty() || s.length() > 18) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }
}
