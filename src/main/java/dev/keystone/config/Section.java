package dev.keystone.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Typed, error-collecting access to one YAML mapping. Every key read is remembered as known, so
 * {@link #finish()} can report the unknown ones with a "did you mean" hint. Accessors never
 * throw: a bad value is recorded and the default is returned, so all errors surface at once.
 */
final class Section {

  private final YamlNode.Mapping node;
  private final String path;
  private final Problems problems;
  private final Interpolator interpolator;
  /**
   * The keys asked for, in order, without repeats: a small array searched linearly (a section has
   * a few dozen keys at most), not a hash set per section: with 10,000 tenants those sets were an
   * eighth of what loading allocated. Past {@link #LINEAR} keys (a labels map can have thousands)
   * a hash set takes over, so that reading a section stays linear in its size.
   */
  private String[] known = new String[8];
  private int knownCount;
  private java.util.Set<String> manyKnown;
  private static final int LINEAR = 32;

  Section(YamlNode.Mapping node, String path, Problems problems, Interpolator interpolator) {
    this.node = node;
    this.path = path;
    this.problems = problems;
    this.interpolator = interpolator;
  }

  String keyPath(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  Problems problems() {
    return problems;
  }

  int line() {
    return node.line();
  }

  /** The raw node, or null if absent or explicitly null. */
  YamlNode raw(String key) {
    remember(key);
    YamlNode n = node.entries().get(key);
    return n instanceof YamlNode.Null ? null : n;
  }

  private boolean isKnown(String key) {
    if (manyKnown != null) {
      return manyKnown.contains(key);
    }
    for (int i = 0; i < knownCount; i++) {
      if (known[i].equals(key)) {
        return true;
      }
    }
    return false;
  }

  private void remember(String key) {
    if (isKnown(key)) {
      return;
    }
    if (knownCount == known.length) {
      known = Arrays.copyOf(known, knownCount * 2);
    }
    known[knownCount++] = key;
    if (manyKnown != null) {
      manyKnown.add(key);
    } else if (knownCount > LINEAR) {
      manyKnown = new java.util.HashSet<>(known());
    }
  }

  private List<String> known() {
    return Arrays.asList(known).subList(0, knownCount);
  }

  boolean has(String key) {
    return raw(key) != null;
  }

  String string(String key, String defaultValue) {
    YamlNode n = raw(key);
    if (n == null) {
      return defaultValue;
    }
    if (!(n instanceof YamlNode.Scalar s)) {
      problems.add(n.line(), keyPath(key), "expected a text value, got " + n.kind());
      return defaultValue;
    }
    try {
      return interpolator.apply(s.text());
    } catch (IllegalArgumentException e) {
      problems.add(n.line(), keyPath(key), e.getMessage());
      return defaultValue;
    }
  }

  <T> T parsed(String key, T defaultValue, String what, Function<String, T> parser) {
    String text = string(key, null);
    if (text == null) {
      return defaultValue;
    }
    try {
      return parser.apply(text);
    } catch (RuntimeException e) {
      String msg = e instanceof NumberFormatException ? "expected " + what + ", got '" + text + "'" : e.getMessage();
      problems.add(keyPath(key), msg);
      return defaultValue;
    }
  }

  boolean bool(String key, boolean defaultValue) {
    return parsed(key, defaultValue, "true or false", text -> switch (text.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> throw new IllegalArgumentException("expected true or false, got '" + text + "'");
    });
  }

  long integer(String key, long defaultValue) {
    return parsed(key, defaultValue, "a whole number", Long::parseLong);
  }

  Duration duration(String key, Duration defaultValue) {
    return parsed(key, defaultValue, "a duration", Units::duration);
  }

  long size(String key, long defaultValue) {
    return parsed(key, defaultValue, "a size", Units::size);
  }

  /**
   * A nested mapping as JSON (a catalog script's {@code params}), or null when absent: plain
   * scalars typed as YAML's core schema types them ({@code 100} a number, {@code true} a
   * boolean, {@code null} null), quoted ones strings; {@code ${VAR}} is interpolated first.
   */
  io.vertx.core.json.JsonObject json(String key) {
    YamlNode n = raw(key);
    if (n == null) {
      return null;
    }
    if (!(n instanceof YamlNode.Mapping)) {
      problems.add(n.line(), keyPath(key), "expected a mapping of keys, got " + n.kind());
      return null;
    }
    return (io.vertx.core.json.JsonObject) jsonValue(n, keyPath(key));
  }

  private Object jsonValue(YamlNode n, String at) {
    if (n instanceof YamlNode.Mapping m) {
      io.vertx.core.json.JsonObject o = new io.vertx.core.json.JsonObject();
      m.entries().forEach((k, v) -> o.put(k, jsonValue(v, at + "." + k)));
      return o;
    }
    if (n instanceof YamlNode.Sequence seq) {
      io.vertx.core.json.JsonArray a = new io.vertx.core.json.JsonArray();
      for (int i = 0; i < seq.items().size(); i++) {
        a.add(jsonValue(seq.items().get(i), at + "[" + i + "]"));
      }
      return a;
    }
    if (!(n instanceof YamlNode.Scalar s)) {
      return null;
    }
    String text;
    try {
      text = interpolator.apply(s.text());
    } catch (IllegalArgumentException e) {
      problems.add(n.line(), at, e.getMessage());
      return null;
    }
    if (s.quoted()) {
      return text;
    }
    if (text.matches("-?(0|[1-9][0-9]{0,17})")) {
      return Long.parseLong(text);
    }
    if (text.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?")) {
      return Double.parseDouble(text);
    }
    return switch (text) {
      case "true", "True", "TRUE" -> Boolean.TRUE;
      case "false", "False", "FALSE" -> Boolean.FALSE;
      case "null", "Null", "NULL", "~", "" -> null;
      default -> text;
    };
  }

  /** A nested mapping, or null (with an error if present but of another type). */
  Section section(String key) {
    YamlNode n = raw(key);
    if (n == null) {
      return null;
    }
    if (n instanceof YamlNode.Mapping m) {
      return new Section(m, keyPath(key), problems, interpolator);
    }
    problems.add(n.line(), keyPath(key), "expected a mapping of keys, got " + n.kind());
    return null;
  }

  /** A list of mappings, each as a Section. */
  List<Section> sections(String key) {
    List<Section> out = new ArrayList<>();
    YamlNode n = raw(key);
    if (n == null) {
      return out;
    }
    if (!(n instanceof YamlNode.Sequence seq)) {
      problems.add(n.line(), keyPath(key), "expected a list, got " + n.kind());
      return out;
    }
    for (int i = 0; i < seq.items().size(); i++) {
      YamlNode item = seq.items().get(i);
      String itemPath = keyPath(key) + "[" + i + "]";
      if (item instanceof YamlNode.Mapping m) {
        out.add(new Section(m, itemPath, problems, interpolator));
      } else {
        problems.add(item.line(), itemPath, "expected a mapping of keys, got " + item.kind());
      }
    }
    return out;
  }

  /** A list of text values; a single text value is accepted as a list of one. */
  List<String> strings(String key) {
    List<String> out = new ArrayList<>();
    YamlNode n = raw(key);
    if (n == null) {
      return out;
    }
    List<YamlNode> items = n instanceof YamlNode.Sequence seq ? seq.items() : List.of(n);
    for (int i = 0; i < items.size(); i++) {
      YamlNode item = items.get(i);
      if (item instanceof YamlNode.Scalar s) {
        try {
          out.add(interpolator.apply(s.text()));
        } catch (IllegalArgumentException e) {
          problems.add(item.line(), keyPath(key) + "[" + i + "]", e.getMessage());
        }
      } else {
        problems.add(item.line(), keyPath(key) + "[" + i + "]", "expected a text value, got " + item.kind());
      }
    }
    return out;
  }

  /** A mapping of text to text (labels). */
  Map<String, String> stringMap(String key) {
    Map<String, String> out = new LinkedHashMap<>();
    Section s = section(key);
    if (s == null) {
      return out;
    }
    for (String k : s.node.entries().keySet()) {
      String v = s.string(k, null);
      if (v != null) {
        out.put(k, v);
      }
    }
    return out;
  }

  /** Reports every key that no accessor asked for, with the closest known key as a hint. */
  void finish() {
    for (Map.Entry<String, Integer> e : node.keyLines().entrySet()) {
      if (!isKnown(e.getKey())) {
        String hint = closest(e.getKey(), known());
        problems.add(e.getValue(), keyPath(e.getKey()), "unknown key"
            + (hint != null ? " (did you mean '" + hint + "'?)" : "; known keys: " + String.join(", ", known())));
      }
    }
  }

  static String closest(String word, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String c : candidates) {
      int d = distance(word.toLowerCase(Locale.ROOT), c);
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    return bestDistance <= Math.max(2, word.length() / 3) ? best : null;
  }

  /** Levenshtein distance. */
  static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
