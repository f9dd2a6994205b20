package dev.keystone.gateway;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.LuaEngineConfig;
import dev.keystone.config.SupervisedEngine;
import dev.keystone.config.TenantConfig;
import dev.keystone.engine.EngineSupervisor;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The engine processes of tenants with {@code isolation: process}: one per isolation group,
 * started and confined as {@code lua_engine.supervise} says, each on a private copy of only its
 * group's scripts. A runtime escape in one reaches that sandbox: not the gateway, not another
 * group's scripts, kv stores or decisions.
 *
 * <p>Like {@link EngineSlot}, it follows a config in two steps: {@link #prepare} starts the
 * engines a new group needs (and refreshes the scripts of groups that stay), {@link #commit}
 * retires the engines of groups that left. Not thread-safe: the gateway reloads one at a time.
 */
final class IsolatedEngines {

  /** One group's engine: the spec it was started from and the scripts it serves. */
  record Group(EngineSupervisor engine, SupervisedEngine source, Set<String> scripts, Path dir) {
    /** The same engine, now serving {@code other} (reloaded in place). */
    Group withScripts(Set<String> other) {
      return new Group(engine, source, other, dir);
    }
  }

  /** What a config needs: the config with each isolated tenant pointed at its engine. */
  record Change(GatewayConfig config, Map<String, Group> groups, List<Group> started, List<Group> retired,
                List<ScriptUpdate> updates) {
  }

  private final Vertx vertx;
  private Map<String, Group> groups = Map.of();

  IsolatedEngines(Vertx vertx) {
    this.vertx = vertx;
  }

  /** The running engines by group (for the admin API and tests). */
  Map<String, EngineSupervisor> engines() {
    Map<String, EngineSupervisor> m = new TreeMap<>();
    groups.forEach((name, g) -> m.put(name, g.engine()));
    return m;
  }

  Change prepare(GatewayConfig config) throws IOException {
    Map<String, Set<String>> wanted = new LinkedHashMap<>();
    for (TenantConfig t : config.tenants()) {
      if (t.isolationGroup() != null) {
        wanted.computeIfAbsent(t.isolationGroup(), g -> new TreeSet<>()).add(t.luaScript());
      }
    }
    SupervisedEngine spec = config.luaEngine().supervise();
    ScriptSources sources = spec == null ? null : ScriptSources.of(spec.scripts(), config); // none: no isolated tenant
    Map<String, Group> next = new HashMap<>();
    List<Group> started = new ArrayList<>();
    List<ScriptUpdate> updates = new ArrayList<>();
    try {
      for (Map.Entry<String, Set<String>> w : wanted.entrySet()) {
        Group old = groups.get(w.getKey());
        if (old != null && old.source().equals(spec)) {
          // edited, added or dropped scripts: the same engine reloads them (awaitReady), or they are put back
          ScriptUpdate update = ScriptUpdate.copy(old.engine(), "the engine of isolation group " + w.getKey(), sources,
              w.getValue(), old.dir(), old.scripts());
          update.expect(w.getValue());
          updates.add(update);
          next.put(w.getKey(), old.withScripts(w.getValue()));
          continue;
        }
        Path dir = dev.keystone.engine.WorkDirectories.create("scripts-" + w.getKey());
        copyScripts(sources, w.getValue(), dir);
        SupervisedEngine own = new SupervisedEngine(spec.command(), dir, spec.sandbox(), spec.memoryBytes(), spec.cpus(),
            spec.maxProcesses());
        Group g = new Group(EngineSupervisor.start(vertx, own), spec, w.getValue(), dir);
        started.add(g);
        next.put(w.getKey(), g);
      }
    } catch (IOException | RuntimeException e) {
      started.forEach(IsolatedEngines::stop);
      updates.forEach(ScriptUpdate::restore);
      throw e;
    }
    List<Group> retired = groups.entrySet().stream()
        .filter(e -> next.get(e.getKey()) == null || next.get(e.getKey()).engine() != e.getValue().engine())
        .map(Map.Entry::getValue).toList();
    List<TenantConfig> tenants = config.tenants().stream().map(t -> t.isolationGroup() == null ? t
        : t.withOwnEngine(new LuaEngineConfig(true, List.of(next.get(t.isolationGroup()).engine().url()),
            config.luaEngine().timeout(), null))).toList();
    return new Change(config.withTenants(tenants), next, started, retired, updates);
  }

  /** Blocks until every new engine answers; null when they do, else why not. */
  String awaitReady(Change c) {
    for (ScriptUpdate u : c.updates()) {
      String refused = u.reload();
      if (refused != null) {
        return refused;
      }
    }
    for (Group g : c.started()) {
      String problem = EngineSlot.await(g.engine(), g.scripts());
      if (problem != null) {
        return "the engine of isolation group " + g.dir().getFileName() + ": " + problem;
      }
    }
    return null;
  }

  void commit(Change c) {
    groups = c.groups();
    c.retired().forEach(IsolatedEngines::stop);
  }

  void abort(Change c) {
    c.started().forEach(IsolatedEngines::stop);
    c.updates().forEach(ScriptUpdate::undo); // those that reloaded go back; a refused one is back already
  }

  void close() {
    groups.values().forEach(g -> {
      g.engine().close();
      delete(g.dir());
    });
    groups = Map.of();
  }

  private static void stop(Group g) {
    new Thread(() -> {
      g.engine().close();
      delete(g.dir());
    }, "engine-stop").start();
  }

  /**
   * Copies the group's scripts (NAME.lua, NAME.js, NAME.py, or NAME as it is; a catalog entry's
   * installed file as NAME@VERSION.EXT) into its private directory.
   */
  static void copyScripts(ScriptSources from, Set<String> names, Path to) throws IOException {
    for (String name : names) {
      for (Map.Entry<Path, String> f : from.files(name)) {
        from.copy(name, f.getKey(), to.resolve(f.getValue()));
      }
    }
  }

  /** The files of script {@code name} in {@code from}: NAME, NAME.lua, NAME.js, NAME.py, those that exist. */
  static List<Path> scriptFiles(Path from, String name) {
    List<Path> files = new ArrayList<>();
    for (String file : List.of(name, name + ".lua", name + ".js", name + ".py")) {
      Path source = from.resolve(file).normalize();
      if (source.startsWith(from) && Files.isRegularFile(source)) {
        files.add(source);
      }
    }
    return files;
  }

  /** Removes a scripts copy this gateway made, and its lock (WorkDirectories). */
  static void delete(Path dir) {
    dev.keystone.engine.WorkDirectories.removeOurs(dir);
  }
}
