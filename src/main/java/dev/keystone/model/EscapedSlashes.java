package dev.keystone.model;

import java.util.Locale;

/**
 * What to do with a request path holding an encoded slash or backslash ({@code %2F},
 * {@code %5C}): many backends decode it after routing, so {@code /t/..%2Fadmin} would reach a
 * path the gateway never saw (Envoy's {@code path_with_escaped_slashes_action}).
 */
public enum EscapedSlashes {
  /** 400 Bad Request (the default). */
  REJECT,
  /** Forward the path untouched, for backends that need encoded slashes in their paths. */
  PASS;

  public static EscapedSlashes parse(String text) {
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "reject" -> REJECT;
      case "pass" -> PASS;
      default -> throw new IllegalArgumentException("must be reject (answer 400) or pass (forward untouched), got '" + text + "'");
    };
  }
}
