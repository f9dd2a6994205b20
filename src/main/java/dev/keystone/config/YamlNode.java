package dev.keystone.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document as a small tree that remembers where each value came from, so that every
 * configuration error can name its line. Jackson's own tree model drops locations.
 */
public sealed interface YamlNode {

  /** 1-based line of the value in the source file. */
  int line();

  /** A short human name for the node's type, used in error messages. */
  String kind();

  record Scalar(String text, boolean quoted, int line) implements YamlNode {
    public String kind() { return "a scalar"; }
  }

  record Null(int line) implements YamlNode {
    public String kind() { return "null"; }
  }

  record Sequence(List<YamlNode> items, int line) implements YamlNode {
    public String kind() { return "a list"; }
  }

  /** A mapping; keys keep file order. {@code keyLines} holds the line of each key. */
  record Mapping(LinkedHashMap<String, YamlNode> entries, Map<String, Integer> keyLines, int line)
      implements YamlNode {
    public String kind() { return "a mapping"; }
  }
}
