package dev.keystone.catalog;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * A catalog's {@code index.json}: one line per entry version, with what {@code search} shows and
 * the entry's SHA-256 (and signature). Written by {@code keystone scripts index DIR} from the
 * entries' files, so it never disagrees with them silently: {@code verify --catalog} recomputes it.
 */
public record CatalogIndex(List<Line> entries) {

  public static final String FILE = "index.json";
  static final int MAX_BYTES = 4 << 20;

  /** One entry version; {@code path} is its directory relative to the catalog, e.g. {@code rate-limit/1.0.0}. */
  public record Line(String name, String version, String description, List<String> languages, String path,
                     String sha256, String signature) {

    public String id() {
      return name + "@" + version;
    }

    JsonObject toJson() {
      JsonObject o = new JsonObject().put("name", name).put("version", version).put("description", description)
          .put("languages", new JsonArray(languages)).put("path", path).put("sha256", sha256);
      if (signature != null) {
        o.put("signature", signature);
      }
      return o;
    }
  }

  public static CatalogIndex parse(String where, byte[] bytes) throws CatalogException {
    JsonObject j = Manifest.Json.object(where, bytes);
    if (!Integer.valueOf(1).equals(j.getValue("catalog"))) {
      throw new CatalogException(where + ": \"catalog\": 1 expected (the index format's version)");
    }
    if (!(j.getValue("entries") instanceof JsonArray list)) {
      throw new CatalogException(where + ": entries: a list expected");
    }
    List<Line> lines = new ArrayList<>();
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      String at = where + ": entries[" + i + "]";
      if (!(list.getValue(i) instanceof JsonObject e)) {
        throw new CatalogException(at + ": an object expected");
      }
      String name = string(at, e, "name");
      String version = string(at, e, "version");
      String path = string(at, e, "path");
      String sha = string(at, e, "sha256");
      if (!Manifest.NAME.matcher(name).matches() || !Manifest.VERSION.matcher(version).matches()) {
        throw new CatalogException(at + ": a name (lower-case, digits, '-') and a MAJOR.MINOR.PATCH version expected");
      }
      if (!path.equals(name + "/" + version)) {
        throw new CatalogException(at + ": path must be NAME/VERSION (" + name + "/" + version + "), got '" + path + "'");
      }
      if (!Digest.wellFormed(sha)) {
        throw new CatalogException(at + ": sha256: 64 lower-case hex digits expected");
      }
      List<String> languages = new ArrayList<>();
      if (e.getValue("languages") instanceof JsonArray langs) {
        langs.forEach(l -> languages.add(String.valueOf(l)));
      }
      Object sig = e.getValue("signature");
      if (sig != null && !(sig instanceof String)) {
        throw new CatalogException(at + ": signature: a base64 string expected");
      }
      String description = e.getValue("description") instanceof String d ? d : "";
      if (description.length() > Manifest.MAX_TEXT || !Manifest.printable(description)
          || !languages.stream().allMatch(Manifest.LANGUAGES::contains)) {
        throw new CatalogException(at + ": a description of printable text and languages among lua, js, py expected");
      }
      if (!ids.add(name + "@" + version)) {
        throw new CatalogException(at + ": " + name + "@" + version + " is listed twice");
      }
      lines.add(new Line(name, version, description, List.copyOf(languages), path, sha, (String) sig));
    }
    return new CatalogIndex(List.copyOf(lines));
  }

  public byte[] toBytes() {
    JsonArray list = new JsonArray();
    entries.forEach(l -> list.add(l.toJson()));
    return (new JsonObject().put("catalog", 1).put("entries", list).encodePrettily() + "\n").getBytes(StandardCharsets.UTF_8);
  }

  /** NAME@VERSION, or the highest version of NAME when {@code version} is null; null when there is none. */
  public Line find(String name, String version) {
    return entries.stream().filter(l -> l.name().equals(name) && (version == null || l.version().equals(version)))
        .max(Comparator.comparing(Line::version, Versions::compare)).orElse(null);
  }

  /** The newest version of each entry whose name or description contains {@code text} (any case). */
  public List<Line> search(String text) {
    String t = text == null ? "" : text.toLowerCase(Locale.ROOT);
    java.util.Map<String, Line> newest = new java.util.TreeMap<>(); // one pass: an index may list thousands of versions
    for (Line l : entries) {
      newest.merge(l.name(), l, (a, b) -> Versions.compare(a.version(), b.version()) >= 0 ? a : b);
    }
    List<Line> out = new ArrayList<>();
    for (Line l : newest.values()) {
      if (l.name().contains(t) || l.description().toLowerCase(Locale.ROOT).contains(t)) {
        out.add(l);
      }
    }
    return out;
  }

  /** MAJOR.MINOR.PATCH {@code a} against {@code b}, as numbers. */
  public static int compareVersions(String a, String b) {
    return Versions.compare(a, b);
  }

  /** Every version of {@code name}, oldest first. */
  public List<String> versions(String name) {
    return entries.stream().filter(l -> l.name().equals(name)).map(Line::version).sorted(Versions::compare).toList();
  }

  private static String string(String at, JsonObject e, String key) throws CatalogException {
    if (!(e.getValue(key) instanceof String s) || s.isEmpty()) {
      throw new CatalogException(at + ": " + key + ": required, a string");
    }
    return s;
  }

  /** MAJOR.MINOR.PATCH compared as numbers. */
  static final class Versions {
    private Versions() {
    }

    static int compare(String a, String b) {
      String[] x = a.split("\\.");
      String[] y = b.split("\\.");
      for (int i = 0; i < 3; i++) {
        int c = Long.compare(Long.parseLong(x[i]), Long.parseLong(y[i]));
        if (c != 0) {
          return c;
        }
      }
      return 0;
    }
  }
}
