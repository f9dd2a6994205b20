package dev.keystone.script;

import java.util.Locale;
import java.util.Set;

/**
 * What a script may put into a request or a response: header names and values, a path, a query.
 * One set of rules for the embedded API ({@link HeaderArgs}) and for a remote engine's answers
 * (checked again by the gateway, since an engine is not trusted): nothing may break the message's
 * framing or smuggle a second header or request. Each check returns null when the value is fine,
 * else what is wrong with it.
 */
public final class EditRules {

  /** Headers a script may not set: they frame the message or describe one connection. */
  private static final Set<String> FRAMING = Set.of("content-length", "transfer-encoding",
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect");

  /** The longest header name and value a script may set: what real servers accept. */
  public static final int MAX_NAME = 256;
  public static final int MAX_VALUE = 8192;
  /** The most headers, and header bytes, one request's (or response's) edits may add. */
  public static final int MAX_HEADERS = 100;
  public static final int MAX_HEADER_BYTES = 64 * 1024;

  private EditRules() {
  }

  /** Null when {@code count} headers of {@code bytes} bytes in all are within what edits may add. */
  public static String totalProblem(int count, long bytes) {
    if (count > MAX_HEADERS || bytes > MAX_HEADER_BYTES) {
      return "a script may set at most " + MAX_HEADERS + " headers and " + (MAX_HEADER_BYTES >> 10)
          + " KiB of headers per request or response";
    }
    return null;
  }

  /** Null when a name or value of {@code length} bytes is not too long (checked before it is copied). */
  public static String lengthProblem(long length, boolean name) {
    int max = name ? MAX_NAME : MAX_VALUE;
    return length > max ? "a header " + (name ? "name" : "value") + " of " + length + " bytes is longer than " + max : null;
  }

  public static String nameProblem(String n) {
    if (n != null && n.length() > MAX_NAME) {
      return lengthProblem(n.length(), true);
    }
    if (n == null || n.isEmpty() || !n.chars().allMatch(c -> c > 32 && c < 127 && c != ':')) {
      return "not a header name: '" + n + "'";
    }
    if (FRAMING.contains(n.toLowerCase(Locale.ROOT))) {
      return "header " + n + " is managed by the gateway (message framing or connection handling)";
    }
    return null;
  }

  public static String valueProblem(String v) {
    if (v == null) {
      return "a header value must be a string";
    }
    if (v.length() > MAX_VALUE) {
      return lengthProblem(v.length(), false);
    }
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) { // RFC 9110 field-value: no control but HTAB
        return "a header value must not contain control characters (found 0x" + Integer.toHexString(c) + ")";
      }
    }
    return null;
  }

  /** A path to forward: starts with '/', no spaces or control characters, no '?' or '#'. */
  public static String pathProblem(String p) {
    if (p == null || !p.startsWith("/")) {
      return "the path must start with '/', got '" + p + "'";
    }
    if (!p.chars().allMatch(c -> c > 32 && c != 127 && c != '?' && c != '#')) {
      return "the path must not contain spaces, control characters, '?' or '#' (set_query sets the query)";
    }
    if (hasDotSegment(p)) {
      return "the path must not contain '.' or '..' segments (plain or %-encoded): it would leave the service's base path";
    }
    return null;
  }

  /** A "." or ".." segment, also written with %2e, or between %2f, %5c or backslashes (read as slashes by some backends). */
  private static boolean hasDotSegment(String p) {
    String path = p.toLowerCase(Locale.ROOT).replace("%2e", ".").replace("%2f", "/").replace("%5c", "/").replace('\\', '/');
    for (String segment : path.split("/", -1)) {
      int params = segment.indexOf(';');
      String s = params >= 0 ? segment.substring(0, params) : segment;
      if (s.equals(".") || s.equals("..")) {
        return true;
      }
    }
    return false;
  }

  /** A query to forward (without '?'): no spaces, control characters or '#'. */
  public static String queryProblem(String q) {
    if (q == null || !q.chars().allMatch(c -> c > 32 && c != 127 && c != '#')) {
      return "the query must not contain spaces, control characters or '#', got '" + q + "'";
    }
    return null;
  }
}
