package dev.keystone.proxy;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;

/**
 * The X-Forwarded-* headers a backend uses to know who really called: the client's address is
 * appended to X-Forwarded-For (keeping what earlier proxies wrote), X-Forwarded-Proto and
 * X-Forwarded-Host describe the request as the client made it.
 */
final class ForwardedHeaders {

  private ForwardedHeaders() {
  }

  static void apply(HttpServerRequest request, String host, MultiMap out) {
    String client = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
    if (client != null) {
      // Several X-Forwarded-For headers count as one comma-separated list; the usual case has none.
      String prior = request.headers().get("X-Forwarded-For");
      if (prior != null) {
        prior = String.join(", ", request.headers().getAll("X-Forwarded-For"));
      }
      out.set("X-Forwarded-For", prior == null || prior.isEmpty() ? client : prior + ", " + client);
    }
    out.set("X-Forwarded-Proto", request.isSSL() ? "https" : "http");
    if (host != null) {
      out.set("X-Forwarded-Host", host);
    }
  }
}
