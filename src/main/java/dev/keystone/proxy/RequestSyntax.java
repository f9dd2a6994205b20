package dev.keystone.proxy;

/**
 * The syntax rules of RFC 9112 and RFC 3986 a proxy must enforce before it forwards anything:
 * what may appear in a request target, in a Host, and in a field value. Pure functions over the
 * text as received; each answers where (or whether) the text breaks the rule.
 */
final class RequestSyntax {

  private RequestSyntax() {
  }

  /**
   * The index of the first character a request target must not hold, or -1. A target is made
   * of RFC 3986's characters only (RFC 9112 section 3.2): anything else, raw non-ASCII bytes and
   * the visible {@code " < > \\ ^ ` { | }} included, has to be percent-encoded. Forwarded raw, they
   * reach backends and logs that each read them their own way.
   */
  static int firstInvalidTargetChar(String target) {
    for (int i = 0; i < target.length(); i++) {
      char c = target.charAt(i);
      if (c < 0x21 || c > 0x7e || NOT_IN_URIS.indexOf(c) >= 0) {
        return i;
      }
    }
    return -1;
  }

  /** Visible ASCII that RFC 3986 has no place for. */
  private static final String NOT_IN_URIS = "\"<>\\^`{|}";

  /** Whether {@code s} is an RFC 9110 token (a header name): one or more tchar. */
  static boolean isToken(String s) {
    return dev.keystone.script.EditRules.isToken(s); // one definition for requests and script edits
  }

  /**
   * Why a request target would mean something else to some backend than to the gateway, or null:
   * a fragment ({@code #} is never sent), a backslash in the path (a slash to Windows servers and
   * to URL parsers such as Node's), a {@code .} or {@code ..} segment with path parameters
   * ({@code ..;} is {@code ..} to Tomcat), or a {@code %} not followed by two hex digits.
   */
  static String ambiguousTarget(String target) {
    if (target.indexOf('#') >= 0) {
      return "a fragment (#) is never part of a request";
    }
    int q = target.indexOf('?');
    int end = q < 0 ? target.length() : q;
    for (int i = 0; i < end; i++) {
      char c = target.charAt(i);
      if (c == '\\') {
        return "backslash in the path";
      }
      if (c == '%' && (i + 2 >= end || !isHex(target.charAt(i + 1)) || !isHex(target.charAt(i + 2)))) {
        return "malformed percent-encoding in the path";
      }
      if (c == '%' && target.charAt(i + 1) < '2') {
        // %00-%1F: a backend that decodes the path gets a NUL, CR or LF (attack round 4, R4-9).
        return "an encoded control character in the path";
      }
      if (c == '[' || c == ']') {
        return "square brackets in the path (RFC 3986 keeps them for IP literals)";
      }
      if (c == ';' && i > 0 && isDotSegmentStart(target, i)) {
        return "a dot segment with parameters (..;)";
      }
    }
    return null;
  }

  /** Whether the segment that ends at {@code semicolon} is "." or "..". */
  private static boolean isDotSegmentStart(String s, int semicolon) {
    int start = s.lastIndexOf('/', semicolon - 1) + 1;
    String seg = s.substring(start, semicolon);
    return seg.equals(".") || seg.equals("..") || seg.equalsIgnoreCase("%2e") || seg.equalsIgnoreCase("%2e%2e")
        || seg.equalsIgnoreCase(".%2e") || seg.equalsIgnoreCase("%2e.");
  }

  /** Whether a field value holds a control character other than HTAB (RFC 9110 section 5.5). */
  static boolean hasControlChar(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code host} is a valid Host value: {@code uri-host [ ":" port ]} of RFC 3986, with
   * an IP literal in brackets, an IPv4 address or a registered name; the port is at most 65535.
   * An empty Host is valid (a request without an authority).
   */
  static boolean isValidHost(String host) {
    int n = host.length();
    if (n == 0) {
      return true;
    }
    int portStart;
    if (host.charAt(0) == '[') {
      int close = host.indexOf(']');
      if (close < 0 || !isIpv6(host, 1, close)) {
        return false;
      }
      if (close == n - 1) {
        return true;
      }
      if (host.charAt(close + 1) != ':') {
        return false;
      }
      portStart = close + 2;
    } else {
      int colon = host.indexOf(':');
      int end = colon < 0 ? n : colon;
      if (end == 0) {
        return false;
      }
      for (int i = 0; i < end; i++) {
        if (!isRegNameChar(host, i)) {
          return false;
        }
      }
      if (colon < 0) {
        return true;
      }
      portStart = colon + 1;
    }
    int digits = n - portStart;
    if (digits > 5) {
      return false;
    }
    int port = 0;
    for (int i = portStart; i < n; i++) {
      char c = host.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
      port = port * 10 + (c - '0');
    }
    return port <= 65535;
  }

  /** unreserved / pct-encoded / sub-delims (RFC 3986 section 3.2.2). */
  private static boolean isRegNameChar(String s, int i) {
    char c = s.charAt(i);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      return true;
    }
    switch (c) {
      case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
        return true;
      case '%':
        return i + 2 < s.length() && isHex(s.charAt(i + 1)) && isHex(s.charAt(i + 2));
      default:
        return false;
    }
  }

  private static boolean isIpv6(String s, int from, int to) {
    int colons = 0;
    if (to - from < 2) {
      return false;
    }
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == ':') {
        colons++;
      } else if (c != '.' && !isHex(c)) {
        return false;
      }
    }
    return colons >= 2 && colons <= 7;
  }

  private static boolean isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  /**
   * Whether a raw path holds an encoded slash or backslash ({@code %2F}, {@code %5C}): a backend
   * that decodes it after routing would see path segments the gateway never saw.
   */
  static boolean hasEncodedSlash(String rawPath) {
    for (int i = rawPath.indexOf('%'); i >= 0 && i + 2 < rawPath.length(); i = rawPath.indexOf('%', i + 1)) {
      char a = rawPath.charAt(i + 1);
      char b = rawPath.charAt(i + 2);
      if ((a == '2' && (b == 'f' || b == 'F')) || (a == '5' && (b == 'c' || b == 'C'))) {
        return true;
      }
    }
    return false;
  }

  /** {@code s} with control and non-ASCII characters shown as \xNN, for error messages. */
  static String printable(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length() && i < 200; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        sb.append(String.format("\\x%02x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
