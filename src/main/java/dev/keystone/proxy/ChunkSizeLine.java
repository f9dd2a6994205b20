package dev.keystone.proxy;

/**
 * The grammar of a chunk-size line, RFC 9112 section 7.1:
 * {@code chunk-size [ chunk-ext ] CRLF}, where {@code chunk-size = 1*HEXDIG} and
 * {@code chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )}, a name being
 * a token and a value a token or a quoted-string. Sizes above 2^31 - 1 are refused: the decoder
 * behind counts in int (and RFC 9112 asks recipients to guard against such overflows).
 */
final class ChunkSizeLine {

  /** Sizes up to 2^31 - 1. */
  static final long MAX_CHUNK = Integer.MAX_VALUE;

  private ChunkSizeLine() {
  }

  /**
   * The size a chunk-size line gives, or -1 when it breaks RFC 9112: {@code 1*HEXDIG} (at most
   * 2^31 - 1) then extensions {@code *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )}
   * and the CR.
   */
  static long size(String line) {
    int n = line.length();
    if (n == 0 || line.charAt(n - 1) != '\r') {
      return -1;
    }
    n--;
    int i = 0;
    long size = 0;
    while (i < n && hex(line.charAt(i)) >= 0) {
      size = size * 16 + hex(line.charAt(i));
      if (size > MAX_CHUNK) {
        return -1;
      }
      i++;
    }
    if (i == 0) {
      return -1;
    }
    while (i < n) {
      i = skipBws(line, i, n);
      if (i >= n || line.charAt(i) != ';') {
        return -1;
      }
      i = skipBws(line, i + 1, n);
      int nameStart = i;
      while (i < n && isTchar(line.charAt(i))) {
        i++;
      }
      if (i == nameStart) {
        return -1;
      }
      int afterName = skipBws(line, i, n);
      if (afterName < n && line.charAt(afterName) == '=') {
        i = skipBws(line, afterName + 1, n);
        if (i < n && line.charAt(i) == '"') {
          i++;
          boolean closed = false;
          while (i < n) {
            char c = line.charAt(i++);
            if (c == '\\') {
              if (i >= n) {
                return -1;
              }
              i++;
            } else if (c == '"') {
              closed = true;
              break;
            } else if (c < 0x20 && c != '\t' || c == 0x7f) {
              return -1;
            }
          }
          if (!closed) {
            return -1;
          }
        } else {
          int valueStart = i;
          while (i < n && isTchar(line.charAt(i))) {
            i++;
          }
          if (i == valueStart) {
            return -1;
          }
        }
      } else {
        i = afterName;
      }
    }
    return size;
  }

  private static int skipBws(String s, int i, int n) {
    while (i < n && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
      i++;
    }
    return i;
  }

  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  private static boolean isTchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
  }
}
