package dev.keystone.config;

import dev.keystone.model.ApiKey;
import dev.keystone.model.ApiKeyRule;
import dev.keystone.model.ApiKeyTable;
import dev.keystone.policy.ApiKeyCodec;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * API keys: the top-level {@code api_keys_file} (written by {@code keystone keys create --file})
 * and each tenant's {@code api_key}:
 * <pre>
 * api_key: { header: X-Api-Key, required: true, scopes: [orders:read], forward_as: X-Api-Key-Name }
 * </pre>
 * ({@code api_key: true} takes those defaults, without scopes).
 */
final class ApiKeysBinder {

  static final int MAX_FILE = 16 << 20;

  private ApiKeysBinder() {
  }

  static ApiKeysFile file(Section root, String source, Problems problems) {
    String name = root.string("api_keys_file", null);
    if (name == null) {
      return null;
    }
    Path file = ScriptFiles.baseDir(source, problems.inputs).resolve(name).normalize();
    String content;
    try {
      // byte for byte (ISO-8859-1), as the file watcher compares it; parsed as UTF-8 below
      content = new String(problems.inputs.read(file, MAX_FILE), StandardCharsets.ISO_8859_1);
    } catch (ConfigInputs.TooLarge e) {
      problems.add(root.keyPath("api_keys_file"), file + " is larger than " + (MAX_FILE >> 20) + " MiB");
      return null;
    } catch (IOException e) {
      problems.add(root.keyPath("api_keys_file"), "cannot read " + file + ": " + e.getMessage()
          + " (make one: keystone keys create NAME --tenant TENANT --file " + name + ")");
      return null;
    }
    try {
      return new ApiKeysFile(file, content, table(content));
    } catch (IllegalArgumentException e) {
      problems.add(root.keyPath("api_keys_file"), file + ": " + e.getMessage());
      return null;
    }
  }

  /** The keys of a keys file: {@code {"keys": [...]}}; IllegalArgumentException naming the entry that is wrong. */
  static ApiKeyTable table(String content) {
    JsonObject j;
    try {
      j = new JsonObject(new String(content.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
    } catch (DecodeException | ClassCastException e) {
      // not the parser's message: it quotes the file, which may be any file the gateway can read
      // (attack s18-policy F6); where it stopped is enough to fix a keys file
      throw new IllegalArgumentException("not a keys file (JSON {\"keys\": [...]})" + where(e));
    }
    if (!(j.getValue("keys") instanceof JsonArray list)) {
      throw new IllegalArgumentException("not a keys file: no \"keys\" list");
    }
    List<ApiKey> keys = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      if (!(list.getValue(i) instanceof JsonObject entry)) {
        throw new IllegalArgumentException("keys[" + i + "]: an object");
      }
      ApiKey k;
      try {
        k = ApiKeyCodec.fromJson(entry);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("keys[" + i + "]." + e.getMessage());
      }
      if (!names.add(k.name())) {
        throw new IllegalArgumentException("keys[" + i + "].name: '" + k.name() + "' is there twice");
      }
      keys.add(k);
    }
    return ApiKeyTable.of(keys);
  }

  private static String where(Exception e) {
    Throwable c = e.getCause();
    if (c instanceof com.fasterxml.jackson.core.JsonProcessingException j && j.getLocation() != null) {
      return ": stopped at line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr();
    }
    return "";
  }

  static ApiKeyRule tenant(Section t) {
    YamlNode raw = t.raw("api_key");
    if (raw == null) {
      return null;
    }
    if (raw instanceof YamlNode.Scalar s) {
      if (!s.text().equals("true") && !s.text().equals("false")) {
        t.problems().add(s.line(), t.keyPath("api_key"), "true, false or {header, required, scopes, forward_as}, got '" + s.text() + "'");
        return null;
      }
      return s.text().equals("true") ? new ApiKeyRule("X-Api-Key", true, Set.of(), "X-Api-Key-Name") : null;
    }
    Section a = t.section("api_key");
    String header = a.string("header", "X-Api-Key");
    String forward = a.string("forward_as", "X-Api-Key-Name");
    for (String[] h : new String[][] {{"header", header}, {"forward_as", forward}}) {
      if (!dev.keystone.script.EditRules.isToken(h[1]) || h[1].isEmpty()) {
        t.problems().add(a.keyPath(h[0]), "a header name, got '" + h[1] + "'");
      }
    }
    if (header.equalsIgnoreCase(forward)) {
      t.problems().add(a.keyPath("forward_as"), "must differ from header: the key itself never reaches the backend");
    }
    List<String> scopes = a.strings("scopes");
    for (String sc : scopes) {
      if (!ApiKeyCodec.validScope(sc)) {
        t.problems().add(a.keyPath("scopes"), "a scope is letters, digits and . _ : / - (such as orders:read), got '" + sc + "'");
      }
    }
    boolean required = a.bool("required", true);
    a.finish();
    return new ApiKeyRule(header, required, Set.copyOf(scopes), forward);
  }
}
