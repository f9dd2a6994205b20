package dev.keystone.routing;

/**
 * Normalises a request path before routing, so that no path is routed as one tenant and read by
 * the backend as another: dot segments are removed (RFC 3986, section 5.2.4: {@code /acme/../beta/}
 * is {@code /beta/}, and a service URL's base path cannot be escaped), percent-encoded unreserved
 * characters are decoded (section 6.2.2.2: {@code /%61dmin} is {@code /admin}, {@code %2e} a dot),
 * and empty segments are merged ({@code //admin} is {@code /admin}, as nginx and most frameworks
 * read it). Other encoded characters (like {@code %2F}) stay as they are.
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
    String p = decodeUnreserved(path);
    String[] segments = p.split("/", -1);
    StringBuilder out = new StringBuilder(p.length());
    int[] starts = new int[segments.length];
    int depth = 0;
    for (int i = 1; i < segments.length; i++) {
      String s = segments[i];
      boolean last = i == segments.length - 1;
      if (s.isEmpty() && !last) {
        continue; // an empty segment: "//" is "/"
      }
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
    for (int i = 1; i < path.length(); i++) {
      char c = path.charAt(i);
      char before = path.charAt(i - 1);
      if ((c == '.' || c == '/') && before == '/') {
        return true;
      }
      if (c == '%' && unreservedAt(path, i) >= 0) {
        return true;
      }
    }
    return false;
  }

  /** {@code path} with every %XX that encodes an unreserved character (ALPHA DIGIT - . _ ~) decoded. */
  private static String decodeUnreserved(String path) {
    StringBuilder out = null;
    for (int i = 0; i < path.length(); i++) {
      int decoded = path.charAt(i) == '%' ? unreservedAt(path, i) : -1;
      if (decoded >= 0) {
        if (out == null) {
          out = new StringBuilder(path.length()).append(path, 0, i);
        }
        out.append((char) decoded);
        i += 2;
      } else if (out != null) {
        out.append(path.charAt(i));
      }
    }
    return out == null ? path : out.toString();
  }

  /** The unreserved character the %XX at {@code i} encodes, or -1. */
  private static int unreservedAt(String s, int i) {
    if (i + 2 >= s.length()) {
      return -1;
    }
    int hi = Character.digit(s.charAt(i + 1), 16);
    int lo = Character.digit(s.charAt(i + 2), 16);
    if (hi < 0 || lo < 0) {
      return -1;
    }
    int c = hi * 16 + lo;
    boolean unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '-' || c == '.' || c == '_' || c == '~';
    return unreserved ? c : -1;
  }
}
