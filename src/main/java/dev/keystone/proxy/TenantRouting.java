package dev.keystone.proxy;

import dev.keystone.model.EscapedSlashes;
import dev.keystone.model.Tenant;
import dev.keystone.routing.RouteTable;

/**
 * Finds the tenant for the request and the path to forward (404 when none matches). A path with
 * an encoded slash is refused unless the tenant passes them ({@code escaped_slashes}): a backend
 * that decodes {@code %2F} after routing would see segments, {@code ..} among them, that the
 * gateway never saw.
 */
final class TenantRouting implements Interceptor {

  @Override
  public void handle(Exchange ex) {
    String host = ex.host();
    RouteTable.Match<Tenant> match = ex.snapshot().routes().match(host, ex.path());
    if (match == null) {
      ex.fail(ProxyError.NOT_FOUND, "no tenant for host '" + host + "' and path " + ex.path());
      return;
    }
    ex.tenant = match.target();
    if (match.target().escapedSlashes() == EscapedSlashes.REJECT && RequestSyntax.hasEncodedSlash(ex.path())) {
      ex.fail(ProxyError.BAD_REQUEST, "encoded slash in the path (escaped_slashes: reject)");
      return;
    }
    ex.forwardPath = forwardPath(ex.path(), match.prefix(), match.target().stripPrefix());
    ex.next();
  }

  /**
   * The path the backend sees: with the matched prefix removed when stripping is on, keeping the
   * leading '/' ("/acme/x" with prefix "/acme/" becomes "/x"; "/acme" and "/acme/" become "/").
   */
  static String forwardPath(String path, String prefix, boolean strip) {
    if (!strip || prefix.isEmpty()) {
      return path;
    }
    return path.length() >= prefix.length() ? path.substring(prefix.length() - 1) : "/";
  }
}
