package dev.keystone.config;

import dev.keystone.script.LuaScript;

import java.io.IOException;
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
 * {@code scripts_dir: classpath:/some/dir} reads scripts bundled in the jar (the embedded demo).
 */
final class ScriptFiles {

  private static final String CLASSPATH = "classpath:";

  private final Path dir;
  private final String resourceDir; // non-null for classpath: scripts
  private final Problems problems;
  private final Map<String, LuaScript> compiled = new HashMap<>();
  /** What the compiled scripts of this config keep, together. */
  private final LuaScript.Budget budget = new LuaScript.Budget();

  ScriptFiles(String configSource, String scriptsDir, Problems problems) {
    this.problems = problems;
    if (scriptsDir.startsWith(CLASSPATH)) {
      String r = scriptsDir.substring(CLASSPATH.length());
      this.resourceDir = (r.startsWith("/") ? r : "/" + r).replaceAll("/+$", "");
      this.dir = null;
    } else {
      this.resourceDir = null;
      this.dir = baseDir(configSource, problems.inputs).resolve(scriptsDir).normalize();
    }
  }

  /** Only checks that each script's file exists: an engine of another language compiles them itself. */
  private boolean presenceOnly;

  /**
   * The scripts of a supervised engine in another language (the Node.js engine): a config that
   * names a script with no file there (NAME, NAME.js, NAME.lua or NAME.py) is refused, as a missing Lua
   * script is; before, the engine answered 404 to every call (attack round 3, N3-5).
   */
  static ScriptFiles presenceOnly(String configSource, String scriptsDir, Problems problems) {
    ScriptFiles f = new ScriptFiles(configSource, scriptsDir, problems);
    f.presenceOnly = true;
    return f;
  }

  /** The scripts directory, or null for classpath: scripts. */
  Path dir() {
    return dir;
  }

  /** The config file's directory (relative paths in the config are relative to it), else the working directory. */
  static Path baseDir(String configSource, ConfigInputs inputs) {
    Path cwd = ConfigInputs.workingDirectory();
    try {
      Path parent = cwd.resolve(configSource).getParent();
      return parent != null && inputs.isDirectory(parent) ? parent : cwd;
    } catch (InvalidPathException e) {
      return cwd; // e.g. the embedded default
    }
  }

  /** The compiled script for {@code name}, or null after reporting why there is none. */
  LuaScript compile(String name, String key) {
    if (compiled.containsKey(name)) {
      return compiled.get(name);
    }
    LuaScript script = null;
    String file = name.endsWith(".lua") ? name : name + ".lua";
    if (name.isBlank() || name.contains("..") || name.startsWith("/")) {
      problems.add(key, "a script name such as 'canary' (for " + (dir != null ? dir : resourceDir) + "/canary.lua), got '" + name + "'");
    } else if (presenceOnly) {
      ConfigInputs in = problems.inputs;
      if (dir != null && !in.isRegularFile(dir.resolve(name)) && !in.isRegularFile(dir.resolve(name + ".js"))
          && !in.isRegularFile(dir.resolve(name + ".lua")) && !in.isRegularFile(dir.resolve(name + ".py"))) {
        problems.add(key, "script '" + name + "' not found: none of " + name + ", " + name + ".js, " + name + ".lua or "
            + name + ".py is in "
            + dir + " (lua_engine.supervise.scripts)");
      }
    } else if (resourceDir != null) {
      script = fromJar(name, resourceDir + "/" + file, key);
    } else {
      Path path = dir.resolve(file);
      try {
        script = LuaScript.compile(name, path.toString(), source(path));
      } catch (NoSuchFileException e) {
        problems.add(key, "script '" + name + "' not found: " + path + " does not exist (scripts_dir: " + dir + ")");
      } catch (IOException e) {
        problems.add(key, "cannot read script " + path + ": " + e);
      } catch (LuaScript.SyntaxError e) {
        problems.add(key, "script does not compile: " + e.getMessage());
      }
    }
    if (script != null) {
      String over = budget.add(script);
      if (over != null) {
        problems.add(key, over);
        script = null;
      }
    }
    compiled.put(name, script);
    return script;
  }

  /** A script compiled elsewhere (a catalog script), counted in this config's budget; null when over it. */
  LuaScript admit(LuaScript script, String key) {
    String over = budget.add(script);
    if (over != null) {
      problems.add(key, over);
      return null;
    }
    return script;
  }

  /** The script's text, read through the inputs (a cached config depends on it). */
  private String source(Path path) throws IOException, LuaScript.SyntaxError {
    try {
      return new String(problems.inputs.read(path, LuaScript.MAX_SOURCE), java.nio.charset.StandardCharsets.UTF_8);
    } catch (ConfigInputs.TooLarge e) {
      throw new LuaScript.SyntaxError(path + ": " + e.size + " bytes, above the limit of " + LuaScript.MAX_SOURCE
          + " (1 MiB) for a script");
    }
  }

  private LuaScript fromJar(String name, String resource, String key) {
    try (java.io.InputStream in = ScriptFiles.class.getResourceAsStream(resource)) {
      if (in == null) {
        problems.add(key, "script '" + name + "' not found: no " + resource + " in the jar");
        return null;
      }
      byte[] source = in.readNBytes(LuaScript.MAX_SOURCE + 1);
      if (source.length > LuaScript.MAX_SOURCE) {
        problems.add(key, "script " + resource + " is above the limit of " + LuaScript.MAX_SOURCE + " bytes (1 MiB)");
        return null;
      }
      return LuaScript.compile(name, "classpath:" + resource, new String(source, java.nio.charset.StandardCharsets.UTF_8));
    } catch (IOException e) {
      problems.add(key, "cannot read script " + resource + ": " + e);
    } catch (LuaScript.SyntaxError e) {
      problems.add(key, "script does not compile: " + e.getMessage());
    }
    return null;
  }
}
