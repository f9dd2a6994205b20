package dev.keystone.gateway;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.TenantConfig;

import java.nio.file.Path;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the scripts a supervised engine is given come from: the operator's scripts directory
 * ({@code lua_engine.supervise.scripts}), and catalog entries, by their script name
 * {@code NAME@VERSION}, from the installed file the config loader checked against the lock file.
 * An engine's private directory gets each as {@code NAME.EXT} / {@code NAME@VERSION.EXT}.
 */
record ScriptSources(Path dir, Map<String, Path> catalog, Map<String, String> sha256) {

  static ScriptSources of(Path dir, GatewayConfig config) {
    Map<String, Path> catalog = new HashMap<>();
    Map<String, String> sha = new HashMap<>();
    for (TenantConfig t : config.tenants()) {
      if (t.catalog() != null && t.script() == null) {
        // the installed file's extension is the language's (script.py, script.js, script.lua)
        catalog.put(t.luaScript(), Path.of(t.catalog().file()));
        sha.put(t.luaScript(), t.catalog().fileSha256());
      }
    }
    return new ScriptSources(dir, Map.copyOf(catalog), Map.copyOf(sha));
  }

  /**
   * Copies {@code source} (one of {@link #files}) to {@code target}: a catalog entry's file only
   * while it still has the SHA-256 it was checked with when the config loaded.
   */
  void copy(String name, Path source, Path target) throws java.io.IOException {
    String want = sha256.get(name);
    if (want == null || !source.equals(catalog.get(name))) {
      java.nio.file.Files.copy(source, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return;
    }
    byte[] bytes;
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(source, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      bytes = in.readNBytes(dev.keystone.catalog.Entry.MAX_FILE + 1); // it was at most that when checked
    }
    if (!dev.keystone.catalog.Digest.sha256(bytes).equals(want)) {
      throw new java.io.IOException(source + " (catalog entry " + name + ") changed after the config was loaded: not given to the engine");
    }
    java.nio.file.Files.write(target, bytes);
  }

  /** The files of script {@code name}: each source and its file name in an engine's directory. */
  List<Map.Entry<Path, String>> files(String name) {
    List<Map.Entry<Path, String>> out = new ArrayList<>();
    Path entry = catalog.get(name);
    if (entry != null) {
      String file = entry.getFileName().toString();
      out.add(new AbstractMap.SimpleEntry<>(entry, name + file.substring(file.lastIndexOf('.'))));
      return out;
    }
    if (dir != null) {
      for (Path source : IsolatedEngines.scriptFiles(dir, name)) {
        out.add(new AbstractMap.SimpleEntry<>(source, source.getFileName().toString()));
      }
    }
    return out;
  }
}
