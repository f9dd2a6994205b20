package dev.keystone.config;

/**
 * The syntax of a tenant's domains and path prefix, checked by hand rather than by regular
 * expressions: a matcher per value was a twelfth of what loading 10,000 tenants allocated. The
 * expressions they replace are kept as the specification in ConfigSyntaxTest, which compares
 * both on generated input.
 */
final class ConfigSyntax {

  private ConfigSyntax() {
  }

  /**
   * A host name with at least one dot: labels of lower-case letters, digits and hyphens, not
   * starting or ending with a hyphen; a leading "*." makes a wildcard.
   */
  static boolean validDomain(String d) {
    int n = d.length();
    int i = d.startsWith("*.") ? 2 : 0;
    int labels = 0;
    while (true) {
      int start = i;
      while (i < n && d.charAt(i) != '.') {
        char c = d.charAt(i);
        if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
          return false;
        }
        i++;
      }
      if (i == start || d.charAt(start) == '-' || d.charAt(i - 1) == '-') {
        return false;
      }
      labels++;
      if (i == n) {
        return labels >= 2;
      }
      i++; // the dot
    }
  }

  /** "/" or "/a/b/": starts and ends with '/', no empty segment, only path characters (RFC 3986 pchar and '%'). */
  static boolean validPathPrefix(String p) {
    int n = p.length();
    if (n == 0 || p.charAt(0) != '/' || p.charAt(n - 1) != '/') {
      return false;
    }
    int segment = 0;
    for (int i = 1; i < n; i++) {
      char c = p.charAt(i);
      if (c == '/') {
        if (segment == 0) {
          return false;
        }
        segment = 0;
      } else if (pathChar(c)) {
        segment++;
      } else {
        return false;
      }
    }
    return true;
  }

  private static boolean pathChar(char c) {
    return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || "._~!$&'()*+,;=:@%-".indexOf(c) >= 0;
  }
}
