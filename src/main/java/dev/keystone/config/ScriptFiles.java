package dev.keystone.config;

import dev.keystone.script.LuaScript;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Finds and compiles the tenants' {@code lua_script}s while the config loads, so a missing
 * script or a syntax error rejects the config (and a reload) like any other config error, naming
 * the script's file and line. {@code lua_script: canary} is {@code <scripts_dir>/canary.lua};
 * {@code scripts_dir} defaults to {@code scripts} and is relative to the config file's directory.
 */
final class ScriptFiles {

  private final Path dir;
  private final Problems problems;
  private final Map<String, LuaScript> compiled = new HashMap<>();

  ScriptFiles(String configSource, String scriptsDir, Problems problems) {
    this.problems = problems;
    this.dir = baseDir(configSource).resolve(scriptsDir).normalize();
  }

  private static Path baseDir(String configSource) {
    try {
      Path parent = Path.of(configSource).toAbsolutePath().getParent();
      return parent != null && Files.isDirectory(parent) ? parent : Path.of("").toAbsolutePath();
    } catch (InvalidPathException e) {
      return Path.of("").toAbsolutePath(); // e.g. the embedded default
    }
  }

  /** The compiled script for {@code name}, or null after reporting why there is none. */
  LuaScript compile(String name, String key) {
    if (compiled.containsKey(name)) {
      return compiled.get(name);
    }
    LuaScript script = null;
    if (name.isBlank() || name.contains("..") || name.startsWith("/")) {
      problems.add(key, "a script name such as 'canary' (for " + dir + "/canary.lua), got '" + name + "'");
    } else {
      Path file = dir.resolve(name.endsWith(".lua") ? name : name + ".lua");
      try {
        script = LuaScript.compile(name, file.toString(), Files.readString(file));
      } catch (NoSuchFileException e) {
        problems.add(key, "script '" + name + "' not found: " + file + " does not exist (scripts_dir: " + dir + ")");
      } catch (IOException e) {
        problems.add(key, "cannot read script " + file + ": " + e);
      } catch (LuaScript.SyntaxError e) {
        problems.add(key, "script does not compile: " + e.getMessage());
      }
    }
    compiled.put(name, script);
    return script;
  }
}
