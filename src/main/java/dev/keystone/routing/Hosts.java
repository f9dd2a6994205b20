package dev.keystone.routing;

import java.util.Locale;

/** Host header handling shared by routing and the proxy. */
public final class Hosts {

  private Hosts() {
  }

  /**
   * Lower-cases a Host value and drops its port and any trailing dot: {@code API.Example.com:8080}
   * becomes {@code api.example.com}; {@code [::1]:8080} becomes {@code [::1]}.
   */
  public static String normalize(String hostHeader) {
    if (hostHeader == null || hostHeader.isEmpty()) {
      return "";
    }
    String h = hostHeader;
    if (h.charAt(0) == '[') {
      int end = h.indexOf(']');
      h = end > 0 ? h.substring(0, end + 1) : h;
    } else {
      int colon = h.indexOf(':');
      if (colon >= 0) {
        h = h.substring(0, colon);
      }
    }
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        return h.toLowerCase(Locale.ROOT);
      }
    }
    return h;
  }
}
