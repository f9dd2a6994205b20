package dev.keystone.script;

/**
 * Text from a script (or a remote engine) made safe for one line of the gateway's log: bounded
 * in length, control characters and Unicode line breaks escaped, so that what a tenant wrote can
 * never read as a line of the gateway's own.
 */
public final class LogText {

  private LogText() {
  }

  /** At most {@code max} characters (then "..."), {@code \n}, {@code \x01}, {@code \u2028} escaped. */
  public static String of(String text, int max) {
    return of(text, max, false);
  }

  /**
   * The same, for the inside of a quoted field ({@code msg="..."}): {@code "} and {@code \}
   * escaped too, so a script's text can't end the field and add fields of its own to the line
   * ({@code request_id=}, {@code tenant=}: attack R5-T5).
   */
  public static String quoted(String text, int max) {
    return of(text, max, false, true);
  }

  /** The same; {@code cut}: the text was already shortened, so it ends with "..." too. */
  static String of(String text, int max, boolean cut) {
    return of(text, max, cut, false);
  }

  static String of(String text, int max, boolean cut, boolean quote) {
    StringBuilder sb = new StringBuilder(Math.min(text.length(), max) + 8);
    int i = 0;
    for (; i < text.length() && sb.length() < max; i++) {
      char c = text.charAt(i);
      switch (c) {
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '"' -> sb.append(quote ? "\\\"" : "\"");
        case '\\' -> sb.append(quote ? "\\\\" : "\\");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            sb.append(String.format("\\x%02x", (int) c));
          } else if ((c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029) { // line breaks to some log readers
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return cut || i < text.length() ? sb.append("...").toString() : sb.toString();
  }
}
