package dev.keystone.catalog;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * An entry's {@code entry.json}: what the entry is (name, version, description, author, licence),
 * the script file of each language it is offered in, the JSON Schema of its parameters and its
 * tests file. Every file it names is part of the entry's content (and of its SHA-256); nothing
 * else in the entry's directory is.
 *
 * @param scripts language ({@code lua}, {@code js}, {@code py}) to script file, in the entry's order
 * @param params  the parameters' JSON Schema (draft 2020-12), an object schema
 * @param tests   the tests file (requests and the decisions expected)
 */
public record Manifest(String name, String version, String description, String author, String licence,
                       Map<String, String> scripts, JsonObject params, String tests) {

  public static final String FILE = "entry.json";
  public static final Set<String> LANGUAGES = Set.of("lua", "js", "py");
  /** Lower-case words joined by '-': safe as a directory name and in {@code NAME@VERSION}. */
  static final Pattern NAME = Pattern.compile("[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?");
  /** MAJOR.MINOR.PATCH, no leading zeros (no pre-releases: a pinned version names one content). */
  static final Pattern VERSION = Pattern.compile("(?:0|[1-9][0-9]{0,8})\\.(?:0|[1-9][0-9]{0,8})\\.(?:0|[1-9][0-9]{0,8})");
  /** A file directly in the entry's directory. */
  static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}");
  static final int MAX_TEXT = 2000;

  /** Reads and checks an entry.json; {@code where} names it in messages. */
  public static Manifest parse(String where, byte[] bytes) throws CatalogException {
    JsonObject j = Json.object(where, bytes);
    String name = text(where, j, "name", 64);
    String version = text(where, j, "version", 32);
    if (!NAME.matcher(name).matches()) {
      throw new CatalogException(where + ": name: lower-case letters, digits and '-' (at most 64), got '" + name + "'");
    }
    if (!VERSION.matcher(version).matches()) {
      throw new CatalogException(where + ": version: MAJOR.MINOR.PATCH such as 1.0.0, got '" + version + "'");
    }
    String description = text(where, j, "description", MAX_TEXT);
    String author = text(where, j, "author", 200);
    String licence = text(where, j, "licence", 100);
    if (!(j.getValue("scripts") instanceof JsonObject s) || s.isEmpty()) {
      throw new CatalogException(where + ": scripts: an object of language (lua, js, py) to file, e.g. {\"lua\": \"script.lua\"}");
    }
    Map<String, String> scripts = new LinkedHashMap<>();
    for (String lang : s.fieldNames()) {
      if (!LANGUAGES.contains(lang)) {
        throw new CatalogException(where + ": scripts: unknown language '" + lang + "' (lua, js or py)");
      }
      String f = file(where, "scripts." + lang, s.getValue(lang));
      if (!f.endsWith("." + lang)) {
        // engines serve NAME.lua, NAME.js, NAME.py: a JavaScript file named .py would fail every call
        throw new CatalogException(where + ": scripts." + lang + ": the file name must end in ." + lang + ", got '" + f + "'");
      }
      scripts.put(lang, f);
    }
    Object schema = j.getValue("params", new JsonObject().put("type", "object"));
    if (!(schema instanceof JsonObject p) || !"object".equals(p.getValue("type"))) {
      throw new CatalogException(where + ": params: a JSON Schema of type object (the parameters a tenant sets)");
    }
    String tests = file(where, "tests", j.getValue("tests"));
    Set<String> known = Set.of("name", "version", "description", "author", "licence", "scripts", "params", "tests");
    for (String k : j.fieldNames()) {
      if (!known.contains(k)) {
        throw new CatalogException(where + ": unknown key '" + k + "' (known: " + new TreeSet<>(known) + ")");
      }
    }
    return new Manifest(name, version, description, author, licence, Map.copyOf(scripts), p, tests);
  }

  /** NAME@VERSION. */
  public String id() {
    return name + "@" + version;
  }

  /** The entry's files: entry.json, the scripts and the tests, sorted. */
  public List<String> files() {
    TreeSet<String> f = new TreeSet<>();
    f.add(FILE);
    f.addAll(scripts.values());
    f.add(tests);
    return new ArrayList<>(f);
  }

  /** The languages it is offered in, sorted. */
  public List<String> languages() {
    return List.copyOf(new TreeSet<>(scripts.keySet()));
  }

  private static String text(String where, JsonObject j, String key, int max) throws CatalogException {
    if (!(j.getValue(key) instanceof String s) || s.isBlank()) {
      throw new CatalogException(where + ": " + key + ": required, a non-empty string");
    }
    if (s.length() > max || !printable(s)) {
      throw new CatalogException(where + ": " + key + ": at most " + max + " characters, no control characters");
    }
    return s;
  }

  /** No control characters (C0, DEL, C1) nor bidirectional overrides: what a terminal shows as it is. */
  static boolean printable(String s) {
    return s.chars().noneMatch(c -> c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069));
  }

  private static String file(String where, String key, Object v) throws CatalogException {
    if (!(v instanceof String s) || !FILE_NAME.matcher(s).matches() || s.equals(FILE)) {
      throw new CatalogException(where + ": " + key + ": a file name in the entry's directory (letters, digits, '.', '_', '-'), got "
          + (v instanceof String s2 ? "'" + s2 + "'" : String.valueOf(v)));
    }
    return s;
  }

  /** JSON text → object, with the file named in the message. */
  static final class Json {
    private Json() {
    }

    static JsonObject object(String where, byte[] bytes) throws CatalogException {
      try {
        Object v = io.vertx.core.json.Json.decodeValue(new String(bytes, StandardCharsets.UTF_8));
        if (v instanceof JsonObject o) {
          return o;
        }
        throw new CatalogException(where + ": expected a JSON object");
      } catch (DecodeException e) {
        throw new CatalogException(where + ": not JSON: " + e.getMessage());
      }
    }
  }
}
