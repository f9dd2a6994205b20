package dev.keystone.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A fast reader for the part of YAML that configs are written in: block mappings and sequences
 * indented with spaces, flow lists and mappings on one line, plain, single- and double-quoted
 * scalars on one line, comments. A 10,000-tenant config (40,000 lines) is read several times
 * faster than by SnakeYAML's general scanner, which is most of the start-up time of such a config.
 *
 * <p>It gives the same {@link YamlNode} tree as {@link YamlReader} (the tests check every config
 * they load against it: {@code keystone.yaml.crosscheck}), or null as soon as the text uses
 * anything else (anchors, tags, block scalars, multi-line scalars or flows, tabs, documents,
 * duplicate keys) or is not valid YAML: the caller then reads it with {@link YamlReader}, which
 * also reports every error with its line. So this reader never reports an error itself.
 */
final class YamlSubset {

  /** Thrown to give up: the text is read by the full parser instead. */
  private static final class Outside extends RuntimeException {
    Outside() {
      super(null, null, false, false);
    }
  }

  private static final Outside OUTSIDE = new Outside();

  /** A line with content: its number, indentation, and text without indentation and comment. */
  private record Line(int no, int indent, String text) {
  }

  private final Line[] lines;
  private int next;
  /** Block collections open now (see {@link #MAX_DEPTH}). */
  private int nesting;

  private YamlSubset(Line[] lines) {
    this.lines = lines;
  }

  /** The tree of {@code text}, or null when it must be read by the full parser. */
  static YamlNode read(String text) {
    // SnakeYAML refuses documents past 3 MiB code points (attack f1, F1-10); the full reader decides.
    if (text.length() > MAX_CODE_POINTS) {
      return null;
    }
    try {
      checkCharacters(text);
      Line[] lines = lines(text);
      if (lines.length == 0) {
        return new YamlNode.Null(1);
      }
      YamlSubset r = new YamlSubset(lines);
      YamlNode root = r.block(lines[0].indent);
      return r.next == lines.length ? root : null;
    } catch (RuntimeException | StackOverflowError e) {
      return null; // whatever this reader cannot take, the full one reads and reports (F1-5, F1-8)
    }
  }

  /** SnakeYAML's default limit of a document's length. */
  private static final int MAX_CODE_POINTS = 3 * 1024 * 1024;
  /** Nesting deeper than this (Jackson stops at 1000) is left to the full reader (F1-8). */
  private static final int MAX_DEPTH = 100;
  /** SnakeYAML forgets a possible key whose colon is further than this from its start (F1-9). */
  private static final int MAX_KEY = 1000;

  /**
   * Every character, comments included (attack f1, F1-2 and F1-3): tabs, control characters, a
   * CR not before LF, NEL, LS and PS (line breaks in YAML 1.1), C1 controls, surrogates and the
   * non-characters are left to the full parser.
   */
  private static void checkCharacters(String text) {
    for (int i = 0, n = text.length(); i < n; i++) {
      char c = text.charAt(i);
      if (c >= ' ' && c < 0x7f) {
        continue;
      }
      if (c == '\n' || (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n')) {
        continue;
      }
      if (c < ' ' || c <= 0x9f || c >= 0xd800 || c == 0x2028 || c == 0x2029) {
        throw OUTSIDE;
      }
    }
  }

  private static Line[] lines(String text) {
    List<Line> out = new ArrayList<>(text.length() / 24 + 1);
    int no = 0;
    int start = 0;
    int n = text.length();
    while (start < n) {
      int end = text.indexOf('\n', start);
      if (end < 0) {
        end = n;
      }
      no++;
      int stop = end > start && text.charAt(end - 1) == '\r' ? end - 1 : end;
      int indent = 0;
      while (start + indent < stop && text.charAt(start + indent) == ' ') {
        indent++;
      }
      String content = withoutComment(text, start + indent, stop);
      if (!content.isEmpty()) {
        if (content.startsWith("---") || content.startsWith("...") || content.charAt(0) == '%') {
          throw OUTSIDE;
        }
        out.add(new Line(no, indent, content));
      }
      start = end + 1;
    }
    return out.toArray(new Line[0]);
  }

  /**
   * The text from {@code from} to {@code to} without a trailing comment and spaces. A quote opens
   * a quoted scalar only where a value starts (the line's start, after an item's dash or a key's
   * colon) or inside a flow; anywhere else it is a character of a plain scalar, and a {@code #}
   * after a space ends the line's content there (attack f1, F1-1: {@code a: x, 'y # z'} is
   * {@code x, 'y}).
   */
  private static String withoutComment(String s, int from, int to) {
    int end = to;
    char quote = 0;
    boolean valueStart = true;
    int depth = 0;
    char prev = 0; // the last character that is not a space
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          if (quote == '\'' && i + 1 < to && s.charAt(i + 1) == '\'') {
            i++;
          } else {
            quote = 0;
            prev = c;
          }
        } else if (c == '\\' && quote == '"') {
          i++;
        }
        continue;
      }
      if (c == ' ') {
        continue;
      }
      if (c == '#' && (i == from || s.charAt(i - 1) == ' ')) {
        end = i;
        break;
      }
      boolean opener = valueStart || (depth > 0 && (prev == '[' || prev == '{' || prev == ',' || prev == ':'));
      if ((c == '"' || c == '\'') && opener) {
        quote = c;
        valueStart = false;
      } else if ((c == '[' || c == '{') && opener) {
        depth++;
        valueStart = false;
      } else if ((c == ']' || c == '}') && depth > 0) {
        depth--;
      } else if (c == '-' && valueStart && (i + 1 == to || s.charAt(i + 1) == ' ')) {
        // an item's dash: its value starts after it
      } else if (c == ':' && depth == 0 && (i + 1 == to || s.charAt(i + 1) == ' ')) {
        valueStart = true; // a key's colon
      } else {
        valueStart = false;
      }
      prev = c;
    }
    if (quote != 0) {
      throw OUTSIDE; // a quoted scalar over several lines
    }
    while (end > from && s.charAt(end - 1) == ' ') {
      end--;
    }
    return s.substring(from, end);
  }

  /** The node starting at the current line, which is indented by {@code indent}. */
  private YamlNode block(int indent) {
    Line l = lines[next];
    if (l.indent != indent) {
      throw OUTSIDE;
    }
    if (isItem(l.text)) {
      return sequence(indent);
    }
    if (keyEnd(l.text) >= 0) {
      return mapping(indent);
    }
    next++;
    return inline(l.text, l.no);
  }

  private static boolean isItem(String t) {
    return t.charAt(0) == '-' && (t.length() == 1 || t.charAt(1) == ' ');
  }

  private YamlNode sequence(int indent) {
    if (++nesting > MAX_DEPTH) {
      throw OUTSIDE;
    }
    int first = lines[next].no;
    List<YamlNode> items = new ArrayList<>();
    while (next < lines.length && lines[next].indent == indent && isItem(lines[next].text)) {
      Line l = lines[next];
      int skip = 1;
      while (skip < l.text.length() && l.text.charAt(skip) == ' ') {
        skip++;
      }
      String rest = l.text.substring(skip);
      if (rest.isEmpty()) {
        next++;
        items.add(nested(indent, l.no));
      } else if (isItem(rest)) {
        throw OUTSIDE; // "- - a"
      } else if (keyEnd(rest) >= 0) {
        // "- key: value": a mapping whose keys line up with this first one
        lines[next] = new Line(l.no, indent + skip, rest);
        items.add(mapping(indent + skip));
      } else {
        next++;
        items.add(inline(rest, l.no));
      }
    }
    nesting--;
    return new YamlNode.Sequence(items, first);
  }

  /** The value after a key or dash with nothing behind it on its line ({@code line}). */
  private YamlNode nested(int indent, int line) {
    if (next < lines.length && lines[next].indent > indent) {
      return block(lines[next].indent);
    }
    return new YamlNode.Null(line);
  }

  private YamlNode mapping(int indent) {
    if (++nesting > MAX_DEPTH) {
      throw OUTSIDE;
    }
    int first = lines[next].no;
    LinkedHashMap<String, YamlNode> entries = new LinkedHashMap<>();
    Map<String, Integer> keyLines = new HashMap<>();
    while (next < lines.length && lines[next].indent >= indent) {
      Line l = lines[next];
      if (l.indent > indent) {
        throw OUTSIDE; // more indented than its mapping and not a value: a multi-line scalar or an error
      }
      int colon = keyEnd(l.text);
      if (colon < 0 || isItem(l.text)) {
        throw OUTSIDE;
      }
      String key = key(l.text.substring(0, colon));
      String rest = l.text.substring(Math.min(l.text.length(), colon + 1)).trim();
      next++;
      YamlNode value;
      if (!rest.isEmpty()) {
        value = inline(rest, l.no);
      } else if (next < lines.length && lines[next].indent == indent && isItem(lines[next].text)) {
        value = sequence(indent); // a list at the key's own indentation
      } else {
        value = nested(indent, l.no);
      }
      if (keyLines.putIfAbsent(key, l.no) != null) {
        throw OUTSIDE; // a duplicate key: the full parser reports it
      }
      entries.put(key, value);
    }
    nesting--;
    return new YamlNode.Mapping(entries, keyLines, first);
  }

  /**
   * Where the key of a block mapping line ends: the first colon followed by a space or the end of
   * the line, outside quotes; -1 when the line is no mapping entry.
   */
  private static int keyEnd(String t) {
    char c0 = t.charAt(0);
    if (c0 == '"' || c0 == '\'') {
      int close = quotedEnd(t, 0);
      int i = close + 1;
      while (i < t.length() && t.charAt(i) == ' ') {
        i++;
      }
      return i < t.length() && t.charAt(i) == ':' && (i + 1 == t.length() || t.charAt(i + 1) == ' ') ? longKey(i) : -1;
    }
    if (c0 == '[' || c0 == '{' || c0 == '?' || c0 == '&' || c0 == '*' || c0 == '!') {
      return -1;
    }
    for (int i = 0; i < t.length(); i++) {
      if (t.charAt(i) == ':' && (i + 1 == t.length() || t.charAt(i + 1) == ' ')) {
        return longKey(i);
      }
    }
    return -1;
  }

  /** {@code colon}, unless it is too far for SnakeYAML to take what comes before it as a key (F1-9). */
  private static int longKey(int colon) {
    if (colon > MAX_KEY) {
      throw OUTSIDE;
    }
    return colon;
  }

  private static String key(String raw) {
    String k = raw.trim();
    if (k.isEmpty()) {
      throw OUTSIDE;
    }
    char c0 = k.charAt(0);
    if (c0 == '"' || c0 == '\'') {
      int close = quotedEnd(k, 0);
      if (close != k.length() - 1) {
        throw OUTSIDE;
      }
      return unquote(k, 0, close);
    }
    checkPlain(k);
    return k;
  }

  /** A value written on one line: a flow collection or a scalar. */
  private static YamlNode inline(String t, int line) {
    char c0 = t.charAt(0);
    if (c0 == '[' || c0 == '{') {
      Flow f = new Flow(t, line);
      YamlNode node = f.node();
      f.skipSpaces();
      if (f.i != t.length()) {
        throw OUTSIDE;
      }
      return node;
    }
    if (c0 == '"' || c0 == '\'') {
      int close = quotedEnd(t, 0);
      if (close != t.length() - 1) {
        throw OUTSIDE;
      }
      return new YamlNode.Scalar(unquote(t, 0, close), true, line);
    }
    if (t.contains(": ") || t.endsWith(":")) {
      throw OUTSIDE; // "a: b: c" is no YAML
    }
    return plain(t, line);
  }

  private static YamlNode plain(String t, int line) {
    checkPlain(t);
    if (t.equals("~") || t.equals("null") || t.equals("Null") || t.equals("NULL")) {
      return new YamlNode.Null(line);
    }
    return new YamlNode.Scalar(t, !typed(t), line);
  }

  /** Plain scalars that start with an indicator are read by the full parser. */
  private static void checkPlain(String t) {
    char c0 = t.charAt(0);
    if ("&*!|>%@`?:#,[]{}\"'".indexOf(c0) >= 0 || (c0 == '-' && (t.length() == 1 || t.charAt(1) == ' '))) {
      throw OUTSIDE;
    }
  }

  /** Whether a plain scalar resolves to a number or a boolean (YAML 1.1, as SnakeYAML reads it). */
  private static boolean typed(String t) {
    switch (t) {
      case "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO",
          "on", "On", "ON", "off", "Off", "OFF" -> {
        return true;
      }
      default -> {
        int i = t.charAt(0) == '-' || t.charAt(0) == '+' ? 1 : 0;
        boolean digit = false;
        for (; i < t.length(); i++) {
          char c = t.charAt(i);
          if (c >= '0' && c <= '9') {
            digit = true;
          } else if (c != '.' && c != '_') {
            return false;
          }
        }
        return digit;
      }
    }
  }

  /** The index of the quote closing the quoted scalar that opens at {@code at}. */
  private static int quotedEnd(String t, int at) {
    char q = t.charAt(at);
    for (int i = at + 1; i < t.length(); i++) {
      char c = t.charAt(i);
      if (q == '\'' && c == '\'') {
        if (i + 1 < t.length() && t.charAt(i + 1) == '\'') {
          i++;
          continue;
        }
        return i;
      }
      if (q == '"') {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          return i;
        }
      }
    }
    throw OUTSIDE;
  }

  /** The content of the quoted scalar from {@code open} to {@code close} (the quotes). */
  private static String unquote(String t, int open, int close) {
    char q = t.charAt(open);
    String body = t.substring(open + 1, close);
    if (q == '\'') {
      return body.replace("''", "'");
    }
    if (body.indexOf('\\') < 0) {
      return body;
    }
    StringBuilder sb = new StringBuilder(body.length());
    for (int i = 0; i < body.length(); i++) {
      char c = body.charAt(i);
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      char e = body.charAt(++i);
      switch (e) {
        case '\\', '"' -> sb.append(e);
        case 'n' -> sb.append('\n');
        case 't' -> sb.append('\t');
        case 'r' -> sb.append('\r');
        case 'u' -> {
          if (i + 4 >= body.length()) {
            throw OUTSIDE;
          }
          int code = 0;
          for (int k = i + 1; k <= i + 4; k++) {
            int d = Character.digit(body.charAt(k), 16);
            if (d < 0 || body.charAt(k) > 'f') {
              throw OUTSIDE; // four hex digits, no sign (F1-4, F1-5)
            }
            code = code * 16 + d;
          }
          sb.append((char) code);
          i += 4;
        }
        default -> throw OUTSIDE; // the rarer escapes: the full parser knows them all
      }
    }
    return sb.toString();
  }

  /** A flow collection on one line. */
  private static final class Flow {
    private final String t;
    private final int line;
    int i;
    private int depth;

    Flow(String t, int line) {
      this.t = t;
      this.line = line;
    }

    void skipSpaces() {
      while (i < t.length() && t.charAt(i) == ' ') {
        i++;
      }
    }

    private char peek() {
      if (i >= t.length()) {
        throw OUTSIDE; // the flow goes on on the next line
      }
      return t.charAt(i);
    }

    YamlNode node() {
      if (++depth > MAX_DEPTH) {
        throw OUTSIDE;
      }
      try {
        return value();
      } finally {
        depth--;
      }
    }

    private YamlNode value() {
      skipSpaces();
      char c = peek();
      if (c == '[') {
        i++;
        List<YamlNode> items = new ArrayList<>();
        skipSpaces();
        if (peek() == ']') {
          i++;
          return new YamlNode.Sequence(items, line);
        }
        while (true) {
          items.add(node());
          skipSpaces();
          char d = peek();
          i++;
          if (d == ']') {
            return new YamlNode.Sequence(items, line);
          }
          if (d != ',') {
            throw OUTSIDE;
          }
        }
      }
      if (c == '{') {
        i++;
        LinkedHashMap<String, YamlNode> entries = new LinkedHashMap<>();
        Map<String, Integer> keyLines = new HashMap<>();
        skipSpaces();
        if (peek() == '}') {
          i++;
          return new YamlNode.Mapping(entries, keyLines, line);
        }
        while (true) {
          skipSpaces();
          YamlNode k = scalar(true);
          if (!(k instanceof YamlNode.Scalar key)) {
            throw OUTSIDE;
          }
          skipSpaces();
          if (peek() != ':') {
            throw OUTSIDE;
          }
          i++;
          skipSpaces();
          char v = peek();
          YamlNode value = v == ',' || v == '}' ? new YamlNode.Null(line) : node();
          if (keyLines.putIfAbsent(key.text(), line) != null) {
            throw OUTSIDE;
          }
          entries.put(key.text(), value);
          skipSpaces();
          char d = peek();
          i++;
          if (d == '}') {
            return new YamlNode.Mapping(entries, keyLines, line);
          }
          if (d != ',') {
            throw OUTSIDE;
          }
        }
      }
      return scalar(false);
    }

    /** A scalar in a flow; {@code key}: it is a mapping key (ends at a colon). */
    private YamlNode scalar(boolean key) {
      char c = peek();
      if (c == '"' || c == '\'') {
        int close = quotedEnd(t, i);
        String s = unquote(t, i, close);
        i = close + 1;
        return new YamlNode.Scalar(s, true, line);
      }
      int start = i;
      while (i < t.length()) {
        char d = t.charAt(i);
        if (d == ',' || d == ']' || d == '}' || d == '[' || d == '{') {
          break;
        }
        if (d == '?') {
          throw OUTSIDE; // SnakeYAML ends a plain scalar in a flow there, and refuses it (F1-7)
        }
        if (d == ':' && (i + 1 == t.length() || " ,]}".indexOf(t.charAt(i + 1)) >= 0)) {
          if (!key) {
            throw OUTSIDE; // "[a: b]": a single-pair mapping in a list
          }
          break;
        }
        i++;
      }
      String s = t.substring(start, i).trim();
      if (s.isEmpty() || (key && i - start > MAX_KEY)) {
        throw OUTSIDE;
      }
      return plain(s, line);
    }
  }

  /** Whether two trees are the same, scalars' {@code quoted} aside (unused; this reader only approximates it). */
  static boolean sameTree(YamlNode a, YamlNode b) {
    if (a == null || b == null || a.getClass() != b.getClass() || a.line() != b.line()) {
      return false;
    }
    if (a instanceof YamlNode.Scalar x) {
      return x.text().equals(((YamlNode.Scalar) b).text());
    }
    if (a instanceof YamlNode.Sequence x) {
      List<YamlNode> y = ((YamlNode.Sequence) b).items();
      if (x.items().size() != y.size()) {
        return false;
      }
      for (int i = 0; i < y.size(); i++) {
        if (!sameTree(x.items().get(i), y.get(i))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof YamlNode.Mapping x) {
      YamlNode.Mapping y = (YamlNode.Mapping) b;
      if (!new ArrayList<>(x.entries().keySet()).equals(new ArrayList<>(y.entries().keySet()))
          || !x.keyLines().equals(y.keyLines())) {
        return false;
      }
      for (Map.Entry<String, YamlNode> e : x.entries().entrySet()) {
        if (!sameTree(e.getValue(), y.entries().get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
    return true; // Null: class and line compared
  }
}
