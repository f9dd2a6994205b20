package dev.keystone.gateway;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.SupervisedEngine;
import dev.keystone.engine.EngineSupervisor;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The script engine a gateway supervises ({@code lua_engine.supervise}), if any. It follows the
 * config in two steps, so traffic never meets an engine that cannot answer yet: {@link #prepare}
 * starts a replacement (or tells the running engine to reload its scripts), the gateway waits
 * until a new engine answers, applies the config, and only then {@link #commit} stops the old
 * one. A replacement that never answers is {@linkplain #abort dropped} and the old config stays.
 * The engines of tenants with {@code isolation: process} ({@link IsolatedEngines}) follow the
 * same steps.
 */
final class EngineSlot {

  private static final Logger LOG = Logger.getLogger("keystone.gateway");
  /** How long a start waits for a supervised engine's first answer (a cold JVM takes about a second). */
  static final Duration START = Duration.ofSeconds(20);

  /** What a config needs of the engine: the config pointed at it, a new engine, and the one it retires. */
  record Change(GatewayConfig config, EngineSupervisor started, EngineSupervisor retired, boolean none,
                IsolatedEngines.Change isolated, ScriptUpdate update) {
  }

  private final Vertx vertx;
  private volatile EngineSupervisor engine;
  private final IsolatedEngines isolated;

  EngineSlot(Vertx vertx) {
    this.vertx = vertx;
    this.isolated = new IsolatedEngines(vertx);
  }

  /** The engines of isolation groups, by group. */
  java.util.Map<String, EngineSupervisor> isolatedEngines() {
    return isolated.engines();
  }

  EngineSupervisor current() {
    return engine;
  }

  /** Starts what {@code config} needs (nothing changes for traffic until {@link #commit}). */
  synchronized Change prepare(GatewayConfig config) throws IOException {
    Change shared = prepareShared(config);
    try {
      IsolatedEngines.Change own = isolated.prepare(shared.config());
      return new Change(own.config(), shared.started(), shared.retired(), shared.none(), own, shared.update());
    } catch (IOException | RuntimeException e) {
      stopLater(shared.started());
      if (shared.update() != null) {
        shared.update().restore();
      }
      throw e;
    }
  }

  /**
   * The shared engine serves a private copy of the scripts of the tenants that use it, and only
   * those: the script of a tenant with {@code isolation: process} (or an unused file) never runs
   * there, not even in its warm-up.
   */
  private Change prepareShared(GatewayConfig config) throws IOException {
    SupervisedEngine spec = config.luaEngine().supervise();
    EngineSupervisor old = engine;
    if (spec == null) {
      return new Change(config, null, old, true, null, null);
    }
    java.util.Set<String> scripts = new java.util.TreeSet<>();
    config.tenants().stream().filter(t -> t.luaScript() != null && t.script() == null && t.isolationGroup() == null)
        .forEach(t -> scripts.add(t.luaScript()));
    if (old != null && spec.equals(sharedSource)) {
      // edited, added or dropped scripts: the engine reloads them in place (awaitReady; its
      // tenants keep their kv), or they are put back and the reload fails
      ScriptUpdate update = ScriptUpdate.copy(old, "the supervised engine", ScriptSources.of(spec.scripts(), config), scripts,
          old.spec().scripts(), sharedScripts);
      update.expect(scripts);
      pendingScripts = scripts;
      return new Change(config.withLuaEngine(config.luaEngine().withUrls(List.of(old.url()))), null, null, false, null, update);
    }
    java.nio.file.Path dir = dev.keystone.engine.WorkDirectories.create("scripts-shared");
    IsolatedEngines.copyScripts(ScriptSources.of(spec.scripts(), config), scripts, dir);
    EngineSupervisor started = EngineSupervisor.start(vertx, new SupervisedEngine(spec.command(), dir, spec.sandbox(),
        spec.memoryBytes(), spec.cpus(), spec.maxProcesses()));
    pendingSource = spec;
    pendingScripts = scripts;
    return new Change(config.withLuaEngine(config.luaEngine().withUrls(List.of(started.url()))), started, old, false, null, null);
  }

  /** What the running shared engine was started from, to tell whether a reload needs a new one. */
  private SupervisedEngine sharedSource;
  private java.util.Set<String> sharedScripts;
  private SupervisedEngine pendingSource;
  private java.util.Set<String> pendingScripts;

  /**
   * Waits until a replacement answers; returns null when it does (or there is none), else why not.
   * Blocks: reloads run off the event loops.
   */
  String awaitReady(Change c) {
    String problem = c.update() != null ? c.update().reload() : c.started() == null ? null : await(c.started(), pendingScripts);
    return problem != null ? problem : isolated.awaitReady(c.isolated());
  }

  /**
   * Blocks until {@code e} first answers; null when it does and serves every script of
   * {@code wanted}, else why not (a script that did not compile: the engine serves it as failing).
   * One deadline ({@link #START}) for the whole check: a cold engine slow to list its scripts (CI:
   * more than the 5 s its own step had, under a 160 MiB cgroup) is not refused while time is left.
   */
  static String await(EngineSupervisor e, java.util.Set<String> wanted) {
    long deadline = System.nanoTime() + START.toNanos();
    try {
      e.ready(START).toCompletionStage().toCompletableFuture().get(left(deadline) + 1000, TimeUnit.MILLISECONDS);
      long forList = left(deadline);
      List<String> failing = e.failingScripts(forList).toCompletionStage().toCompletableFuture()
          .get(forList + 1000, TimeUnit.MILLISECONDS);
      return failing.isEmpty() ? missing(e, wanted, deadline) : "the engine cannot run these scripts: " + String.join("; ", failing);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      return "interrupted while waiting for the new engine";
    } catch (Exception ex) {
      return "the new engine did not answer within " + START.toSeconds() + " s: "
          + (ex.getCause() != null ? ex.getCause().getMessage() : ex.toString());
    }
  }

  /** Milliseconds to {@code deadline} (System.nanoTime), at least one second: a late step still gets a call. */
  private static long left(long deadline) {
    return Math.max(1000, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
  }

  /**
   * Null when {@code e} serves every script of {@code wanted} (or does not list its scripts), else
   * which it does not: a file the engine does not take (a Node.js engine serves NAME.js as NAME,
   * not NAME.lua nor "light.js"), which before answered 404 to every call (round 4, N4-5). Blocks
   * until {@code deadline} (System.nanoTime) at most.
   */
  static String missing(EngineSupervisor e, java.util.Set<String> wanted, long deadline) throws Exception {
    if (wanted == null || wanted.isEmpty()) {
      return null;
    }
    long ms = left(deadline);
    List<String> missing = e.missingScripts(wanted, ms).toCompletionStage().toCompletableFuture().get(ms + 1000, TimeUnit.MILLISECONDS);
    return missing.isEmpty() ? null : "the engine does not serve the script(s) " + String.join(", ", missing)
        + " that tenants name in lua_script (an engine serves each of its files by the name without its extension:"
        + " NAME.js for the Node.js engine, NAME.lua for the Lua one, NAME.py for the Python one)";
  }

  /** The config of {@code c} is applied: the new engine is the engine, the retired one stops. */
  synchronized void commit(Change c) {
    if (c.started() != null || c.none()) {
      engine = c.started();
      sharedSource = c.started() == null ? null : pendingSource;
      sharedScripts = c.started() == null ? null : pendingScripts;
    } else if (c.update() != null) {
      sharedScripts = pendingScripts; // reloaded in place with another set of scripts
    }
    stopLater(c.retired());
    isolated.commit(c.isolated());
  }

  /** The config of {@code c} was not applied: its new engine, if any, stops. */
  void abort(Change c) {
    stopLater(c.started());
    if (c.update() != null) {
      c.update().undo();
    }
    isolated.abort(c.isolated());
  }

  private static void stopLater(EngineSupervisor e) {
    if (e != null) {
      new Thread(() -> stop(e), "engine-stop").start(); // waits for the process: not on the caller's thread
    }
  }

  /** Stops {@code e} and removes the private copy of scripts it served. */
  private static void stop(EngineSupervisor e) {
    e.close();
    // Only the copy this gateway made (keystone-PID-scripts-shared-...), never the user's own
    // directory. The test was by a name the copies lost when they gained the gateway's PID, and a
    // gateway stopped cleanly left its tenants' scripts in /tmp (attack round 10, N10-3).
    if (dev.keystone.engine.WorkDirectories.isOurs(e.spec().scripts())) {
      IsolatedEngines.delete(e.spec().scripts());
    }
  }

  /** Completes when every engine first answers (or at once without any); a slow engine is logged, not fatal. */
  Future<Void> ready() {
    // The isolation groups' engines too: a tenant whose engine is still starting would fail its
    // first requests (on_script_error) right after the gateway said it was up.
    java.util.List<EngineSupervisor> all = new java.util.ArrayList<>(isolatedEngines().values());
    if (engine != null) {
      all.add(engine);
    }
    java.util.List<Future<Void>> waits = all.stream().map(e -> e.ready(START).compose(v -> e.failingScripts(5_000))
        .map(failing -> {
          if (!failing.isEmpty()) { // the others run: their tenants must not wait for this one's fix
            LOG.severe("the supervised engine serves these scripts as failing (their tenants follow on_script_error): "
                + String.join("; ", failing));
          }
          return (Void) null;
        }).compose(v -> e == engine && sharedScripts != null ? e.missingScripts(sharedScripts, 5_000) : Future.succeededFuture(List.<String>of()))
        .map(missing -> {
          if (!missing.isEmpty()) {
            LOG.severe("the supervised engine does not serve the script(s) " + String.join(", ", missing)
                + " that tenants name in lua_script (their tenants follow on_script_error)");
          }
          return (Void) null;
        }).otherwise(t -> {
          LOG.warning(t.getMessage() + ": serving anyway; scripted tenants follow on_script_error until it does");
          return null;
        })).toList();
    return Future.join(waits).mapEmpty();
  }

  /** Stops the engine (waits for its process). */
  void close() {
    EngineSupervisor e = engine;
    engine = null;
    if (e != null) {
      stop(e);
    }
    isolated.close();
  }
}
