package dev.keystone.catalog;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code scripts.lock.json}, next to the config: the catalog scripts installed for it, each
 * pinned by version and SHA-256, with the catalog it came from. The config loader reads it to
 * find (and re-check) a tenant's {@code script: {catalog: NAME@VERSION}}; {@code keystone
 * scripts add|update|remove} write it, atomically (a crash leaves the old file or the new one).
 */
public record LockFile(Map<String, Pinned> scripts) {

  public static final String FILE = "scripts.lock.json";

  /**
   * One installed entry.
   *
   * @param tested the languages whose versions passed the entry's tests here: the gateway runs no other
   * @param key    the fingerprint ({@code sha256:...}) of the public key its signature was verified
   *               with, or empty: an update must be signed by the same key
   */
  public record Pinned(String name, String version, String sha256, String catalog, boolean signed, List<String> languages,
                       List<String> tested, String key) {
    public String id() {
      return name + "@" + version;
    }

    /** The same, with {@code more} languages tested. */
    public Pinned testedAlso(List<String> more) {
      java.util.TreeSet<String> all = new java.util.TreeSet<>(tested);
      all.addAll(more);
      return new Pinned(name, version, sha256, catalog, signed, languages, List.copyOf(all), key);
    }
  }

  public LockFile {
    scripts = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(scripts));
  }

  public static LockFile empty() {
    return new LockFile(Map.of());
  }

  /** The lock file in {@code dir}; an empty one when there is none. */
  public static LockFile read(Path dir) throws CatalogException {
    return read(dir, Installed.Reader.FILES);
  }

  /** The same, read by {@code reader} (the config loader's, which remembers what a config was made of). */
  public static LockFile read(Path dir, Installed.Reader reader) throws CatalogException {
    Path file = dir.resolve(FILE);
    byte[] bytes;
    try {
      bytes = reader.read(file, 1 << 20);
    } catch (NoSuchFileException e) {
      return empty();
    } catch (IOException e) {
      throw new CatalogException(file + ": " + e.getMessage());
    }
    JsonObject j = Manifest.Json.object(file.toString(), bytes);
    if (!Integer.valueOf(1).equals(j.getValue("lock")) || !(j.getValue("scripts") instanceof JsonObject s)) {
      throw new CatalogException(file + ": expected {\"lock\": 1, \"scripts\": {...}}");
    }
    Map<String, Pinned> out = new TreeMap<>();
    for (String name : s.fieldNames()) {
      String at = file + ": scripts." + name;
      if (!(s.getValue(name) instanceof JsonObject p) || !(p.getValue("version") instanceof String v)
          || !(p.getValue("sha256") instanceof String sha) || !Manifest.NAME.matcher(name).matches()
          || !Manifest.VERSION.matcher(v).matches() || !Digest.wellFormed(sha)) {
        throw new CatalogException(at + ": expected {\"version\": \"1.0.0\", \"sha256\": \"<64 hex digits>\", ...}");
      }
      List<String> languages = new ArrayList<>();
      if (p.getValue("languages") instanceof JsonArray a) {
        a.forEach(l -> languages.add(String.valueOf(l)));
      }
      List<String> tested = new ArrayList<>();
      if (p.getValue("tested") instanceof JsonArray a) {
        a.forEach(l -> tested.add(String.valueOf(l)));
      }
      out.put(name, new Pinned(name, v, sha, p.getValue("catalog") instanceof String c ? c : "",
          Boolean.TRUE.equals(p.getValue("signed")), List.copyOf(languages), List.copyOf(tested),
          p.getValue("key") instanceof String k ? k : ""));
    }
    return new LockFile(out);
  }

  public LockFile with(Pinned p) {
    Map<String, Pinned> m = new TreeMap<>(scripts);
    m.put(p.name(), p);
    return new LockFile(m);
  }

  public LockFile without(String name) {
    Map<String, Pinned> m = new TreeMap<>(scripts);
    m.remove(name);
    return new LockFile(m);
  }

  public void write(Path dir) throws CatalogException {
    JsonObject s = new JsonObject();
    for (Pinned p : scripts.values()) {
      s.put(p.name(), new JsonObject().put("version", p.version()).put("sha256", p.sha256()).put("catalog", p.catalog())
          .put("signed", p.signed()).put("key", p.key()).put("languages", new JsonArray(p.languages()))
          .put("tested", new JsonArray(p.tested())));
    }
    byte[] bytes = (new JsonObject().put("lock", 1).put("scripts", s).encodePrettily() + "\n").getBytes(StandardCharsets.UTF_8);
    Path file = dir.resolve(FILE);
    try {
      Path tmp = Files.createTempFile(dir, ".scripts.lock", ".tmp");
      Files.write(tmp, bytes);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new CatalogException(file + ": cannot write: " + e.getMessage());
    }
  }
}
