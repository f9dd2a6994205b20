package dev.keystone.proxy;

import io.netty.handler.codec.http.HttpMethod;

import java.util.function.IntSupplier;

/**
 * A tenant with {@code https_redirect} answers its plain-HTTP requests with a redirect to the
 * same host and target on the TLS listener: 301 for GET and HEAD (cached by browsers), 308 for
 * the rest (RFC 9110: the method and body are kept, so a POST is not turned into a GET). Nothing
 * reaches a backend or a script over plain HTTP then.
 */
final class HttpsRedirect implements Interceptor {

  /** The TLS listener's bound port (-1 when there is none: the config then has no redirect). */
  private final IntSupplier tlsPort;

  HttpsRedirect(IntSupplier tlsPort) {
    this.tlsPort = tlsPort;
  }

  @Override
  public void handle(Exchange ex) {
    if (!ex.tenant().httpsRedirect() || ex.head().secure()) {
      ex.next();
      return;
    }
    String host = ex.host();
    int port = tlsPort.getAsInt();
    if (host.isEmpty() || port < 0) {
      ex.fail(ProxyError.BAD_REQUEST, "https_redirect: the request names no host to redirect to");
      return;
    }
    String target = originForm(ex.head().uri());
    String authority = (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + (port == 443 ? "" : ":" + port);
    HttpMethod m = ex.head().method();
    int status = m == HttpMethod.GET || m == HttpMethod.HEAD ? 301 : 308;
    ResponseSink resp = ex.response();
    resp.status(status);
    resp.headers().set("Location", "https://" + authority + target)
        .set("Content-Type", "text/plain; charset=utf-8")
        .set("X-Request-ID", ex.requestId());
    ClientBody.answerUnread(ex, status + " to https://" + authority + target + "\n");
  }

  /** The path and query of a target in origin or absolute form ("*" becomes "/"). */
  static String originForm(String uri) {
    if (uri.startsWith("/")) {
      return uri;
    }
    int scheme = uri.indexOf("://");
    if (scheme > 0) {
      int path = uri.indexOf('/', scheme + 3);
      int query = uri.indexOf('?', scheme + 3);
      int from = path < 0 ? query : query < 0 ? path : Math.min(path, query);
      return from < 0 ? "/" : uri.charAt(from) == '?' ? "/" + uri.substring(from) : uri.substring(from);
    }
    return "/";
  }
}
