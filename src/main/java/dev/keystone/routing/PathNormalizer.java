package dev.keystone.routing;

/**
 * Removes dot segments from a request path (RFC 3986, section 5.2.4) before routing, so that
 * {@code /acme/../beta/} cannot be routed as one tenant and read by the backend as another path,
 * and a service URL's base path cannot be escaped. Percent-encoded dots count as dots, as RFC 3986
 * allows for unreserved characters. Other encoded characters (like {@code %2F}) stay as they are.
 */
public final class PathNormalizer {

  private PathNormalizer() {
  }

  /** Returns the normalised path, or null if it does not start with '/' or climbs above the root. */
  public static String normalize(String path) {
    if (path == null || path.isEmpty() || path.charAt(0) != '/') {
      return null;
    }
    if (!needsWork(path)) {
      return path;
    }
    String p = path.replace("%2e", ".").replace("%2E", ".");
    String[] segments = p.split("/", -1);
    StringBuilder out = new StringBuilder(p.length());
    int[] starts = new int[segments.length];
    int depth = 0;
    for (int i = 1; i < segments.length; i++) {
      String s = segments[i];
      boolean last = i == segments.length - 1;
      if (s.equals(".")) {
        if (last) {
          out.append('/');
        }
        continue;
      }
      if (s.equals("..")) {
        if (depth == 0) {
          return null;
        }
        out.setLength(starts[--depth]);
        if (last) {
          out.append('/');
        }
        continue;
      }
      starts[depth++] = out.length();
      out.append('/').append(s);
    }
    return out.length() == 0 ? "/" : out.toString();
  }

  private static boolean needsWork(String path) {
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '.' && path.charAt(i - 1) == '/') {
        return true;
      }
      if (c == '%' && i + 2 < path.length() && path.charAt(i + 1) == '2'
          && (path.charAt(i + 2) == 'e' || path.charAt(i + 2) == 'E')) {
        return true;
      }
    }
    return false;
  }
}
