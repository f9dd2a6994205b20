package dev.keystone.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads YAML text into a {@link YamlNode} tree with line numbers, using Jackson's streaming
 * YAML parser. Duplicate keys are reported, not silently overwritten.
 */
final class YamlReader {

  private static final YAMLFactory FACTORY = new YAMLFactory();

  private final String file;
  private final List<ConfigError> errors;

  YamlReader(String file, List<ConfigError> errors) {
    this.file = file;
    this.errors = errors;
  }

  /** Parses the text; returns null (with an error recorded) when it is not valid YAML. */
  YamlNode read(String text) {
    try (JsonParser p = FACTORY.createParser(text)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        return new YamlNode.Null(1);
      }
      YamlNode root = readValue(p, "");
      // A config is one document: anything after it (a second document, or text the parser
      // could not fit into the first) is an error, not silently dropped.
      if (p.nextToken() != null) {
        errors.add(new ConfigError(file, p.currentTokenLocation().getLineNr(), "",
            "invalid YAML: more content after the end of the document (a config is one YAML document)"));
        return null;
      }
      return root;
    } catch (JsonProcessingException e) {
      int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
      errors.add(new ConfigError(file, line, "", "invalid YAML: " + e.getOriginalMessage()));
      return null;
    } catch (IOException e) {
      errors.add(new ConfigError(file, 0, "", "cannot read: " + e.getMessage()));
      return null;
    }
  }

  private YamlNode readValue(JsonParser p, String path) throws IOException {
    int line = p.currentTokenLocation().getLineNr();
    JsonToken t = p.currentToken();
    switch (t) {
      case START_OBJECT: {
        LinkedHashMap<String, YamlNode> entries = new LinkedHashMap<>();
        Map<String, Integer> keyLines = new HashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String key = p.currentName();
          int keyLine = p.currentTokenLocation().getLineNr();
          p.nextToken();
          YamlNode value = readValue(p, path.isEmpty() ? key : path + "." + key);
          if (entries.containsKey(key)) {
            errors.add(new ConfigError(file, keyLine, path.isEmpty() ? key : path + "." + key,
                "duplicate key (first defined on line " + keyLines.get(key) + ")"));
            continue;
          }
          entries.put(key, value);
          keyLines.put(key, keyLine);
        }
        return new YamlNode.Mapping(entries, keyLines, line);
      }
      case START_ARRAY: {
        List<YamlNode> items = new ArrayList<>();
        int i = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
          items.add(readValue(p, path + "[" + i++ + "]"));
        }
        return new YamlNode.Sequence(items, line);
      }
      case VALUE_NULL:
        return new YamlNode.Null(line);
      default:
        // Strings, numbers and booleans all stay text here; the binder converts them, so a
        // quoted "10" and a plain 10 mean the same, as they did in the original Go loader.
        return new YamlNode.Scalar(p.getText(), t == JsonToken.VALUE_STRING, line);
    }
  }
}
