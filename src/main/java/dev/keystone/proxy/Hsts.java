package dev.keystone.proxy;

import io.netty.handler.codec.http.HttpHeaders;

/**
 * The tenant's {@code hsts}: answers over TLS tell browsers to use HTTPS only for the host, for
 * max-age seconds (RFC 6797). Never over plain HTTP (the RFC has browsers ignore it there), and
 * a backend's own header is kept.
 */
final class Hsts {

  static final String HEADER = "Strict-Transport-Security";

  private Hsts() {
  }

  static void apply(Exchange ex, HttpHeaders out) {
    if (ex.tenant != null && ex.tenant.hsts() != null && ex.head().secure() && !out.contains(HEADER)) {
      out.set(HEADER, ex.tenant.hsts());
    }
  }
}
