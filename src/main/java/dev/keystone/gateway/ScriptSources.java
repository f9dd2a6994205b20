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
record ScriptSources(Path dir, Map<String, Path> catalog) {

  static ScriptSources of(Path dir, GatewayConfig config) {
    Map<String, Path> catalog = new HashMap<>();
    for (TenantConfig t : config.tenants()) {
      if (t.catalog() != null && t.script() == null) {
        // the installed file's extension is the language's (script.py, script.js, script.lua)
        catalog.put(t.luaScript(), Path.of(t.catalog().file()));
      }
    }
    return new ScriptSources(dir, Map.copyOf(catalog));
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
