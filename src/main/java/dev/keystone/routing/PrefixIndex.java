package dev.keystone.routing;

import java.util.HashMap;
import java.util.Map;

/**
 * Longest-prefix lookup for path prefixes that end with '/'. Instead of scanning every prefix,
 * it tries the path's own '/' boundaries from the longest down, and only those whose length some
 * prefix has: a few hash lookups per request, whatever the number of tenants.
 */
final class PrefixIndex<T> {

  private final Map<String, T> byPrefix = new HashMap<>();
  private boolean[] lengths = new boolean[0];

  /** Adds a prefix; returns false if it was already present. */
  boolean put(String prefix, T target) {
    if (byPrefix.putIfAbsent(prefix, target) != null) {
      return false;
    }
    if (prefix.length() >= lengths.length) {
      boolean[] grown = new boolean[prefix.length() + 1];
      System.arraycopy(lengths, 0, grown, 0, lengths.length);
      lengths = grown;
    }
    lengths[prefix.length()] = true;
    return true;
  }

  boolean isEmpty() {
    return byPrefix.isEmpty();
  }

  /**
   * The target of the longest prefix of {@code path}, or null. A path equal to a prefix without
   * its trailing slash ({@code /api} for {@code /api/}) also matches it.
   */
  RouteTable.Match<T> match(String path) {
    int n = path.length();
    if (n + 1 < lengths.length && lengths[n + 1] && path.charAt(n - 1) != '/') {
      String prefix = path + "/";
      T t = byPrefix.get(prefix);
      if (t != null) {
        return new RouteTable.Match<>(t, prefix);
      }
    }
    for (int i = Math.min(n, lengths.length - 1); i >= 1; i--) {
      if (lengths[i] && path.charAt(i - 1) == '/') {
        String prefix = i == n ? path : path.substring(0, i);
        T t = byPrefix.get(prefix);
        if (t != null) {
          return new RouteTable.Match<>(t, prefix);
        }
      }
    }
    return null;
  }
}
