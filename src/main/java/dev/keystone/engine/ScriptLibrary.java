package dev.keystone.engine;

import dev.keystone.script.LuaScript;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The scripts an engine serves: every {@code *.lua} in one directory, compiled, by name (the file
 * name without {@code .lua}). Immutable; a reload builds a new library and keeps the old one when
 * any script fails to compile.
 */
record ScriptLibrary(Path dir, Map<String, LuaScript> scripts, long version) {

  /** Thrown when a script does not compile; lists every error with file and line. */
  static final class LoadException extends Exception {
    final List<String> errors;

    LoadException(List<String> errors) {
      super(String.join("\n", errors), null, false, false);
      this.errors = List.copyOf(errors);
    }
  }

  static ScriptLibrary load(Path dir, long version) throws LoadException {
    Map<String, LuaScript> scripts = new HashMap<>();
    List<String> errors = new ArrayList<>();
    LuaScript.Budget budget = new LuaScript.Budget();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".lua")).sorted().toList()) {
        String name = f.getFileName().toString().replaceFirst("\\.lua$", "");
        try {
          LuaScript script = LuaScript.compile(name, f.toString(), LuaScript.read(f));
          String over = budget.add(script);
          if (over != null) {
            errors.add(f + ": " + over);
          } else {
            scripts.put(name, script);
          }
        } catch (LuaScript.SyntaxError e) {
          errors.add(e.getMessage());
        } catch (IOException e) {
          errors.add(f + ": cannot read the script: " + e);
        }
      }
    } catch (IOException e) {
      errors.add(dir + ": cannot read the scripts directory: " + e);
    }
    if (!errors.isEmpty()) {
      throw new LoadException(errors);
    }
    return new ScriptLibrary(dir, Map.copyOf(scripts), version);
  }
}
