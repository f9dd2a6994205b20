package dev.keystone.gateway;

import dev.keystone.engine.EngineSupervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * New versions of a running supervised engine's scripts, copied into its private directory and
 * reloaded as one step of a config reload: when the engine refuses them (a script that does not
 * compile), the files it had are put back and the config reload fails with the engine's errors.
 * Before, the refused file stayed in the engine's directory while the gateway said the reload was
 * applied, and the engine's next start (after a crash, a kill, a deploy) met it (attack on the
 * Node engine, round 2, N2-2).
 */
final class ScriptUpdate {

  private static final Logger LOG = Logger.getLogger("keystone.gateway");

  private final EngineSupervisor engine;
  private final String name;
  /** Each file written, with what it held before (null: it did not exist). */
  private final Map<Path, byte[]> before;

  private ScriptUpdate(EngineSupervisor engine, String name, Map<Path, byte[]> before) {
    this.engine = engine;
    this.name = name;
    this.before = before;
  }

  /**
   * Copies the scripts {@code names} from {@code from} into the directory {@code to} that
   * {@code engine} serves, and removes there the scripts {@code gone} (no tenant of this engine
   * uses them any more). A change in which scripts an engine serves reloads it in place: a new
   * engine process for it lost every tenant's kv (attack round 3, N3-6).
   */
  static ScriptUpdate copy(EngineSupervisor engine, String name, ScriptSources from, Set<String> names, Path to, Set<String> gone)
      throws IOException {
    Map<Path, byte[]> before = new LinkedHashMap<>();
    for (String script : names) {
      for (Map.Entry<Path, String> source : from.files(script)) {
        Path target = to.resolve(source.getValue());
        before.put(target, Files.isRegularFile(target) ? Files.readAllBytes(target) : null);
      }
    }
    java.util.List<Path> removed = new java.util.ArrayList<>();
    for (String script : gone) {
      if (!names.contains(script)) {
        for (Path old : IsolatedEngines.scriptFiles(to, script)) {
          before.put(old, Files.readAllBytes(old));
          removed.add(old);
        }
      }
    }
    ScriptUpdate u = new ScriptUpdate(engine, name, before);
    try {
      IsolatedEngines.copyScripts(from, names, to);
      for (Path old : removed) {
        Files.deleteIfExists(old);
      }
    } catch (IOException e) {
      u.restore();
      throw e;
    }
    return u;
  }

  /** The script names the engine must serve after the reload (tenants' lua_script). */
  private Set<String> expected = Set.of();

  void expect(Set<String> names) {
    expected = Set.copyOf(names);
  }

  /**
   * Blocks until the engine reloaded; null when it took the scripts and serves every expected
   * one, else why not (the old files are back; the caller's abort reloads them).
   */
  String reload() {
    try {
      engine.reload().toCompletionStage().toCompletableFuture().get(35, TimeUnit.SECONDS);
      // the reload answered: the engine is warm, but its list gets the same time as a start's
      String missing = EngineSlot.missing(engine, expected, System.nanoTime() + EngineSlot.START.toNanos());
      if (missing != null) {
        restore();
        return name + ": " + missing;
      }
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      restore();
      return name + ": interrupted while it reloaded its scripts";
    } catch (Exception e) {
      restore();
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      return name + ": " + (cause.getMessage() != null ? cause.getMessage() : cause.toString());
    }
  }

  /** Puts the files back as they were (the engine still runs them). */
  void restore() {
    before.forEach((path, bytes) -> {
      try {
        if (bytes == null) {
          Files.deleteIfExists(path);
        } else {
          Files.write(path, bytes);
        }
      } catch (IOException e) {
        LOG.warning("cannot put back " + path + " (the engine's next start will read the refused version): " + e.getMessage());
      }
    });
  }

  /** After a later step failed: the old files back, and the engine told to read them again. */
  void undo() {
    restore();
    engine.reload().onFailure(e -> LOG.warning(name + " did not reload its old scripts: " + e.getMessage()));
  }
}
