package dev.keystone.gateway;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.SupervisedEngine;
import dev.keystone.engine.EngineSupervisor;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.logging.Logger;

/**
 * The script engine a gateway supervises ({@code lua_engine.supervise}), if any. It follows the
 * config: started, told to reload its scripts, or replaced when its settings change.
 */
final class EngineSlot {

  private static final Logger LOG = Logger.getLogger("keystone.gateway");
  /** How long a start waits for a supervised engine's first answer (a cold JVM takes about a second). */
  private static final Duration START = Duration.ofSeconds(20);

  private final Vertx vertx;
  private volatile EngineSupervisor engine;

  EngineSlot(Vertx vertx) {
    this.vertx = vertx;
  }

  EngineSupervisor current() {
    return engine;
  }

  /** Makes the engine match {@code config}; returns the config pointed at the engine's socket. */
  synchronized GatewayConfig follow(GatewayConfig config) throws IOException {
    SupervisedEngine spec = config.luaEngine().supervise();
    EngineSupervisor old = engine;
    if (spec == null) {
      engine = null;
    } else if (old != null && old.spec().equals(spec)) {
      old.reload().onFailure(e -> LOG.warning("the supervised engine kept its old scripts: " + e.getMessage()));
      return config.withLuaEngine(config.luaEngine().withUrls(List.of(old.url())));
    } else {
      engine = EngineSupervisor.start(vertx, spec);
    }
    if (old != null) {
      new Thread(old::close, "engine-stop").start(); // waits for the process: not on the caller's thread
    }
    return engine == null ? config : config.withLuaEngine(config.luaEngine().withUrls(List.of(engine.url())));
  }

  /** Completes when the engine first answers (or at once without one); a slow engine is logged, not fatal. */
  Future<Void> ready() {
    EngineSupervisor e = engine;
    if (e == null) {
      return Future.succeededFuture();
    }
    return e.ready(START).otherwise(t -> {
      LOG.warning(t.getMessage() + ": serving anyway; scripted tenants follow on_script_error until it does");
      return null;
    });
  }

  /** Stops the engine (waits for its process). */
  void close() {
    EngineSupervisor e = engine;
    engine = null;
    if (e != null) {
      e.close();
    }
  }
}
