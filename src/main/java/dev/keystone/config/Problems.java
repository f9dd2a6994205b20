package dev.keystone.config;

import java.util.ArrayList;
import java.util.List;

/** Collects errors for one file, and finds the line of any key for them. */
final class Problems {

  final String file;
  final List<ConfigError> errors = new ArrayList<>();
  /** What the binders read besides the file: every one of them reads through here. */
  final ConfigInputs inputs;
  private YamlNode root;

  Problems(String file, ConfigInputs inputs) {
    this.file = file;
    this.inputs = inputs;
  }

  void add(int line, String key, String message) {
    errors.add(new ConfigError(file, line, key, message));
  }

  /** Reports at the line recorded for {@code key} (or the nearest parent key). */
  void add(String key, String message) {
    add(lineOf(key), key, message);
  }

  /** The document the keys are paths in ({@code tenants[3].services[0].url}). */
  void root(YamlNode root) {
    this.root = root;
  }

  /**
   * The line of {@code key} (or of the nearest parent key), found in the document when an error
   * needs it: recording every key's path and line while binding cost a string and a map entry
   * per key (a third of binding a 10,000-tenant config).
   */
  int lineOf(String key) {
    return root == null ? 0 : lineIn(root, key, 0, root.line());
  }

  private static int lineIn(YamlNode node, String path, int at, int known) {
    if (at >= path.length()) {
      return known;
    }
    if (node instanceof YamlNode.Sequence seq && path.charAt(at) == '[') {
      int close = path.indexOf(']', at);
      if (close < 0) {
        return known;
      }
      int i;
      try {
        i = Integer.parseInt(path.substring(at + 1, close));
      } catch (NumberFormatException e) {
        return known;
      }
      if (i < 0 || i >= seq.items().size()) {
        return known;
      }
      YamlNode item = seq.items().get(i);
      return lineIn(item, path, close + 1, item.line());
    }
    if (node instanceof YamlNode.Mapping map) {
      int from = at > 0 && path.charAt(at) == '.' ? at + 1 : at;
      String best = null;
      for (String k : map.entries().keySet()) {
        int end = from + k.length();
        // keys may hold dots themselves: the longest key that ends where a path part ends
        if (path.startsWith(k, from) && (end == path.length() || path.charAt(end) == '.' || path.charAt(end) == '[')
            && (best == null || k.length() > best.length())) {
          best = k;
        }
      }
      if (best == null) {
        return known;
      }
      Integer keyLine = map.keyLines().get(best);
      return lineIn(map.entries().get(best), path, from + best.length(), keyLine == null ? known : keyLine);
    }
    return known;
  }
}
