package dev.keystone.proxy;

import dev.keystone.model.TrafficSplit;

/**
 * Which canary bucket a request falls in when its tenant's share is pinned: the bucket of the
 * pinned header's or cookie's value (the same user, the same side of the split as the share
 * grows), or -1 (drawn at random) when the request does not carry it.
 */
final class CanaryBucket {

  private CanaryBucket() {
  }

  static int of(Exchange ex, TrafficSplit.Share share) {
    if (share.pinHeader() != null) {
      String v = ex.head().headers().get(share.pinHeader());
      return v == null || v.isEmpty() ? -1 : TrafficSplit.bucket(v);
    }
    if (share.pinCookie() != null) {
      for (String header : ex.head().headers().getAll("Cookie")) {
        String v = cookie(header, share.pinCookie());
        if (v != null) {
          return TrafficSplit.bucket(v);
        }
      }
    }
    return -1;
  }

  /** The value of cookie {@code name} in a Cookie header, or null. */
  static String cookie(String header, String name) {
    for (String pair : header.split(";")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).trim().equals(name)) {
        String v = pair.substring(eq + 1).trim();
        return v.isEmpty() ? null : v;
      }
    }
    return null;
  }
}
