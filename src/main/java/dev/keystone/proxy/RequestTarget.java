package dev.keystone.proxy;

/** The path of a request target as sent: origin form, or the path of an absolute-form target. */
final class RequestTarget {

  private RequestTarget() {
  }

  /**
   * The part before the '?', without the scheme and authority of an absolute-form target
   * ({@code http://host/p?q} gives {@code /p}; {@code http://host} gives {@code /}), as Vert.x's
   * server reads it, so both transports route alike.
   */
  static String path(String uri) {
    if (uri.isEmpty()) {
      return "";
    }
    int start = 0;
    if (uri.charAt(0) != '/') {
      int scheme = uri.indexOf("://");
      if (scheme >= 0) {
        start = uri.indexOf('/', scheme + 3);
        if (start < 0) {
          return "/";
        }
      }
    }
    int q = uri.indexOf('?', start);
    if (q < 0) {
      return start == 0 ? uri : uri.substring(start);
    }
    return uri.substring(start, q);
  }
}
