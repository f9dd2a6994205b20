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
    if (n == null || !isToken(n)) {
      // RFC 9110 section 5.1: a field name is a token. Anything else is refused here, where the
      // script's error policy applies, not later by the HTTP library (attack on issue 13, F2).
      return "not a header name (a token of letters, digits and !#$%&'*+-.^_`|~): '" + (n == null ? null : LogText.of(n, 100)) + "'";
    }
    if (FRAMING.contains(n.toLowerCase(Locale.ROOT))) {
      return "header " + n + " is managed by the gateway (message framing or connection handling)";
    }
    return null;
  }

  /** Whether {@code s} is an RFC 9110 token. */
  public static boolean isToken(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
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

  /**
   * The longest path, and query, a script may forward: what the gateway takes from clients
   * ({@code limits.max_uri_length}'s default). Each request keeps them until it ends.
   */
  public static final int MAX_PATH = 8192;
  public static final int MAX_QUERY = 8192;

  /** Visible ASCII that RFC 3986 has no place for: a request line must carry them percent-encoded. */
  private static final String NOT_IN_URIS = "\"<>\\^`{|}";

  /** Null when {@code length} characters are not too many for a path (or a query); checked before copying. */
  public static String targetLengthProblem(long length, boolean path) {
    int max = path ? MAX_PATH : MAX_QUERY;
    return length > max ? "a " + (path ? "path" : "query") + " of " + length + " bytes is longer than " + max : null;
  }

  /** Whether {@code c} may appear in a request target as it is (RFC 3986; '?' and '#' are the caller's to refuse). */
  private static boolean uriChar(int c) {
    return c > 32 && c < 127 && NOT_IN_URIS.indexOf(c) < 0;
  }

  /** The first bad percent-encoding ('%' without two hex digits) in {@code s}, or -1. */
  private static int badPercent(String s) {
    for (int i = s.indexOf('%'); i >= 0; i = s.indexOf('%', i + 1)) {
      if (i + 2 >= s.length() || Character.digit(s.charAt(i + 1), 16) < 0 || Character.digit(s.charAt(i + 2), 16) < 0) {
        return i;
      }
    }
    return -1;
  }

  /**
   * A path to forward: starts with '/', at most {@link #MAX_PATH} characters of RFC 3986 (so no
   * spaces, control characters, non-ASCII or {@code " < > \ ^ ` { | }}: percent-encode them), no
   * '?' or '#', well-formed percent-encoding, and no dot segments.
   */
  public static String pathProblem(String p) {
    if (p == null || !p.startsWith("/")) {
      return "the path must start with '/', got '" + (p == null ? null : LogText.of(p, 100)) + "'";
    }
    String tooLong = targetLengthProblem(p.length(), true);
    if (tooLong != null) {
      return tooLong;
    }
    if (!p.chars().allMatch(c -> uriChar(c) && c != '?' && c != '#')) {
      return "the path must hold only the characters of a URI, with no '?' or '#' (percent-encode spaces, "
          + "non-ASCII and \" < > \\ ^ ` { | }; set_query sets the query)";
    }
    if (badPercent(p) >= 0) {
      return "the path has a '%' not followed by two hex digits";
    }
    if (leavesBase(p)) {
      return "the path must not contain '.' or '..' segments or control characters, plain or %-encoded in any way a "
          + "backend may decode them: it would leave the service's base path";
    }
    return null;
  }

  /**
   * Whether the path, as any backend may read it, holds a control character or a "." or ".."
   * segment: read as sent and then percent-decoded again and again (up to four times), each
   * reading also taken as lax UTF-8 (overlong forms count: %c0%ae is '.') and in Unicode
   * compatibility form (fullwidth '．' is '.', '／' is '/'), with '\\' as '/', and a segment ending
   * at ';' (Tomcat reads "/..;/x" as "/../x"), '?' or '#'. A list of encodings to refuse is never
   * complete (attack rounds 5, 6 and the Node engine's round 4 each found more); reading the path
   * as a decoder would is.
   */
  private static boolean leavesBase(String p) {
    String current = p;
    for (int round = 0; round < 5; round++) {
      // Compatibility form first: a fullwidth '％' followed by "2e" is "%2e" to the next reading.
      current = java.text.Normalizer.normalize(current, java.text.Normalizer.Form.NFKC);
      String view = current.replace('\\', '/');
      if (round > 0 && view.chars().anyMatch(c -> c < 0x20 || (c >= 0x7f && c <= 0x9f))) {
        return true; // C0, DEL and C1 controls (%c2%85 is NEL)
      }
      for (String segment : view.split("/", -1)) {
        int end = segment.length();
        for (char stop : new char[] {';', '?', '#'}) {
          int at = segment.indexOf(stop);
          if (at >= 0) {
            end = Math.min(end, at);
          }
        }
        String s = segment.substring(0, end).stripTrailing(); // "..%20": Windows drops trailing spaces
        if (s.equals(".") || s.equals("..")) {
          return true;
        }
      }
      String next = percentDecoded(current);
      if (next.equals(current)) {
        return false;
      }
      current = next;
    }
    return true; // still more to decode after five readings: no ordinary path is written so
  }

  /** {@code s} with each well-formed %XX turned into its byte, the bytes read as lax UTF-8. */
  private static String percentDecoded(String s) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%' && i + 2 < s.length() && hex(s.charAt(i + 1)) && hex(s.charAt(i + 2))) {
        bytes.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
        i += 2;
      } else if (c < 0x80) {
        bytes.write(c);
      } else {
        byte[] b = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        bytes.write(b, 0, b.length);
      }
    }
    return laxUtf8(bytes.toByteArray());
  }

  /** UTF-8 as a lax decoder reads it: overlong forms give their code point; what is not UTF-8, U+FFFD. */
  private static String laxUtf8(byte[] b) {
    StringBuilder out = new StringBuilder(b.length);
    for (int i = 0; i < b.length; ) {
      int lead = b[i] & 0xff;
      // up to the 5- and 6-byte forms of the first UTF-8 (RFC 2279), which lax decoders still read
      int n = lead < 0x80 ? 0 : lead < 0xc0 ? -1 : lead < 0xe0 ? 1 : lead < 0xf0 ? 2 : lead < 0xf8 ? 3 : lead < 0xfc ? 4 : lead < 0xfe ? 5 : -1;
      if (n < 0 || i + n >= b.length) {
        out.append('\ufffd');
        i++;
        continue;
      }
      long cp = n == 0 ? lead : lead & (0x3f >> n);
      boolean ok = true;
      for (int k = 1; k <= n; k++) {
        int cont = b[i + k] & 0xff;
        if ((cont & 0xc0) != 0x80) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (cont & 0x3f);
      }
      if (!ok || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        out.append('\ufffd');
        i++;
        continue;
      }
      out.appendCodePoint((int) cp);
      i += n + 1;
    }
    return out.toString();
  }

  private static boolean hex(char c) {
    return Character.digit(c, 16) >= 0 && c < 0x80;
  }

  /**
   * A query to forward (without '?'): at most {@link #MAX_QUERY} characters of RFC 3986, no '#',
   * well-formed percent-encoding.
   */
  public static String queryProblem(String q) {
    if (q == null) {
      return "the query must be a string";
    }
    String tooLong = targetLengthProblem(q.length(), false);
    if (tooLong != null) {
      return tooLong;
    }
    if (!q.chars().allMatch(c -> uriChar(c) && c != '#')) {
      return "the query must hold only the characters of a URI, with no '#' (percent-encode spaces, non-ASCII "
          + "and \" < > \\ ^ ` { | }), got '" + LogText.of(q, 100) + "'";
    }
    if (badPercent(q) >= 0) {
      return "the query has a '%' not followed by two hex digits";
    }
    return null;
  }
}
