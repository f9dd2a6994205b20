package dev.keystone.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Collects errors for one file, and remembers the line of every key for later checks. */
final class Problems {

  final String file;
  final List<ConfigError> errors = new ArrayList<>();
  private final Map<String, Integer> lines = new HashMap<>();

  Problems(String file) {
    this.file = file;
  }

  void add(int line, String key, String message) {
    errors.add(new ConfigError(file, line, key, message));
  }

  /** Reports at the line recorded for {@code key} (or the nearest parent key). */
  void add(String key, String message) {
    add(lineOf(key), key, message);
  }

  void remember(String key, int line) {
    lines.put(key, line);
  }

  int lineOf(String key) {
    String k = key;
    while (true) {
      Integer line = lines.get(k);
      if (line != null) {
        return line;
      }
      int cut = Math.max(k.lastIndexOf('.'), k.lastIndexOf('['));
      if (cut <= 0) {
        return 0;
      }
      k = k.substring(0, cut);
    }
  }
}
