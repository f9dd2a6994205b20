package dev.keystone.engine;

import dev.keystone.config.SupervisedEngine;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Logger;

/**
 * A script engine the gateway runs itself ({@code lua_engine.supervise}): started on a Unix
 * socket in a private directory, confined ({@link EngineCommandLine}, {@link CgroupLimits}),
 * watched (exit, or three failed health checks in a row), and restarted with exponential backoff
 * (0.1 s doubling up to 10 s; back to 0.1 s once an engine has lived 30 s). While it is down,
 * calls to it fail fast and each tenant's {@code on_script_error} policy applies.
 */
public final class EngineSupervisor {

  private static final Logger LOG = Logger.getLogger("keystone.engine");
  private static final long HEALTH_EVERY_MS = 2_000;
  private static final long MAX_BACKOFF_MS = 10_000;
  private static final long STABLE_AFTER_MS = 30_000;

  private final Vertx vertx;
  private final SupervisedEngine spec;
  private final Path dir;
  private final Path socket;
  private final CgroupLimits limits;
  private final Path bwrap;
  private final HttpClient client;
  private final long healthTimer;
  private Process process;
  private long startedAt;
  private int failuresInRow;  // exits without a stable run, for the backoff
  private int missedHealth;
  private int restarts;
  private boolean closed;

  private EngineSupervisor(Vertx vertx, SupervisedEngine spec, Path dir, Path bwrap) {
    this.vertx = vertx;
    this.spec = spec;
    this.dir = dir;
    this.socket = dir.resolve("engine.sock");
    this.bwrap = bwrap;
    this.limits = CgroupLimits.create("keystone-engine-" + ProcessHandle.current().pid() + "-" + dir.getFileName(),
        spec.memoryBytes(), spec.cpus(), spec.maxProcesses());
    this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false));
    this.healthTimer = vertx.setPeriodic(HEALTH_EVERY_MS, id -> checkHealth());
  }

  /** Starts the engine; {@link #ready} says when it answers. */
  public static EngineSupervisor start(Vertx vertx, SupervisedEngine spec) throws IOException {
    Path bwrap = switch (spec.sandbox()) {
      case NONE -> null;
      case AUTO, BUBBLEWRAP -> EngineCommandLine.bubblewrap();
    };
    if (bwrap == null && spec.sandbox() == SupervisedEngine.Sandbox.BUBBLEWRAP) {
      throw new IOException("lua_engine.supervise.sandbox is bubblewrap, but bwrap is not installed (Debian: apt-get install bubblewrap)");
    }
    Path dir = WorkDirectories.create("engine");
    EngineSupervisor s = new EngineSupervisor(vertx, spec, dir, bwrap);
    LOG.info("supervised engine: " + (bwrap != null ? "sandboxed by bubblewrap (no network, own PID namespace, read-only file system)"
        : "NOT sandboxed (" + (spec.sandbox() == SupervisedEngine.Sandbox.NONE ? "sandbox: none" : "bwrap is not installed") + ")")
        + "; limits: " + (s.limits.applied().isEmpty()
        ? "no cgroup could be created here" + (spec.builtIn() ? ", JVM heap and processor count only" : ", none")
        : String.join(", ", s.limits.applied())));
    s.launch();
    return s;
  }

  /** The address the gateway calls it at. */
  public String url() {
    return "unix:" + socket;
  }

  public SupervisedEngine spec() {
    return spec;
  }

  /** Completes when the engine first answers its health check, or fails after {@code timeout}. */
  public Future<Void> ready(Duration timeout) {
    Promise<Void> p = Promise.promise();
    long deadline = System.nanoTime() + timeout.toNanos();
    poll(p, deadline);
    return p.future();
  }

  private void poll(Promise<Void> p, long deadline) {
    health().onComplete(ar -> {
      if (ar.succeeded()) {
        p.tryComplete();
      } else if (System.nanoTime() > deadline || closed) {
        p.tryFail("the supervised engine did not answer on " + socket + ": " + ar.cause().getMessage());
      } else {
        vertx.setTimer(50, id -> poll(p, deadline));
      }
    });
  }

  /** The engine's current process id (the outermost process: the sandbox or the engine), or -1. */
  public synchronized long pid() {
    return process != null && process.isAlive() ? process.pid() : -1;
  }

  /** The kernel-enforced limits in place (empty where no cgroup could be created). */
  public List<String> limits() {
    return limits.applied();
  }

  /** How many times it was restarted. */
  public synchronized int restarts() {
    return restarts;
  }

  /**
   * Asks the engine to re-read its scripts (after the gateway's config was reloaded). Fails when
   * the engine refused them (it keeps its old scripts), with the engine's errors, which name each
   * file and line, or when it did not answer within 30 s (compiling is bounded per script).
   */
  public Future<Void> reload() {
    return call(HttpMethod.POST, "/reload", 30_000).<Void>mapEmpty().recover(t -> {
      String m = t.getMessage() == null ? t.toString() : t.getMessage();
      int json = m.indexOf('{');
      if (m.startsWith("/reload answered 422") && json >= 0) {
        try {
          io.vertx.core.json.JsonArray errors = new io.vertx.core.json.JsonObject(m.substring(json)).getJsonArray("errors");
          if (errors != null && !errors.isEmpty()) {
            return Future.failedFuture("the engine refused the scripts: " + String.join("; ", errors.getList().stream().map(String::valueOf).toList()));
          }
        } catch (RuntimeException e) {
          // not the engine's JSON: the message as it is
        }
      }
      return Future.failedFuture(m);
    });
  }

  /**
   * Which of {@code wanted} (script names, as tenants give them) the engine does not serve, from
   * its {@code GET /health?scripts=1}; empty when it serves them all or does not list its scripts.
   */
  public Future<List<String>> missingScripts(java.util.Collection<String> wanted, long timeoutMs) {
    return call(HttpMethod.GET, "/health?scripts=1", timeoutMs).map(b -> {
      io.vertx.core.json.JsonArray names = new io.vertx.core.json.JsonObject(b).getJsonArray("names");
      if (names == null) {
        return List.of();
      }
      java.util.Set<String> served = new java.util.HashSet<>();
      names.forEach(n -> served.add(String.valueOf(n)));
      return wanted.stream().filter(w -> !served.contains(w)).sorted().toList();
    });
  }

  /**
   * The scripts the engine serves as failing because they did not compile when it started (its
   * {@code /health} lists them as {@code failing}; an engine that does not list any has none).
   */
  public Future<List<String>> failingScripts(long timeoutMs) {
    return call(HttpMethod.GET, "/health", timeoutMs).map(b -> {
      io.vertx.core.json.JsonArray a = new io.vertx.core.json.JsonObject(b).getJsonArray("failing");
      return a == null ? List.of() : a.getList().stream().map(String::valueOf).toList();
    });
  }

  private Future<String> health() {
    return call(HttpMethod.GET, "/health", 1_000);
  }

  private Future<String> call(HttpMethod method, String path, long timeoutMs) {
    RequestOptions o = new RequestOptions().setServer(SocketAddress.domainSocketAddress(socket.toString()))
        .setHost("localhost").setMethod(method).setURI(path).setConnectTimeout(timeoutMs).setIdleTimeout(timeoutMs);
    return client.request(o).compose(r -> r.send()).compose(resp -> resp.body().map(b -> {
      if (resp.statusCode() != 200) {
        throw new IllegalStateException(path + " answered " + resp.statusCode() + ": " + b);
      }
      return b.toString();
    }));
  }

  private synchronized void launch() {
    if (closed) {
      return;
    }
    try {
      Files.deleteIfExists(socket); // left by an engine that was killed
      List<String> command = EngineCommandLine.build(spec, socket, limits.procsFiles(), bwrap);
      LOG.fine("starting engine: " + String.join(" ", command));
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
      pb.environment().putAll(EngineCommandLine.environment(spec)); // inside bubblewrap: its --setenv
      // Without a sandbox, an engine goes when this process is gone (kill -9 included): the
      // built-in engine by its --parent watch, others by this name (the Node engine watches it).
      // Inside bubblewrap (--clearenv, its own PID namespace) --die-with-parent does it.
      pb.environment().put("KEYSTONE_ENGINE_PARENT", Long.toString(ProcessHandle.current().pid()));
      Process p = pb.start();
      process = p;
      startedAt = System.nanoTime();
      missedHealth = 0;
      relayOutput(p);
      p.onExit().thenAccept(this::exited);
    } catch (IOException e) {
      LOG.warning("cannot start the supervised engine: " + e.getMessage());
      scheduleRestart();
    }
  }

  private synchronized void exited(Process p) {
    if (p != process || closed) {
      return;
    }
    long lived = (System.nanoTime() - startedAt) / 1_000_000;
    LOG.warning("supervised engine (pid " + p.pid() + ") exited with status " + p.exitValue() + " after " + lived + " ms");
    if (lived >= STABLE_AFTER_MS) {
      failuresInRow = 0;
    }
    scheduleRestart();
  }

  private synchronized void scheduleRestart() {
    if (closed) {
      return;
    }
    long delay = Math.min(MAX_BACKOFF_MS, 100L << Math.min(10, failuresInRow));
    failuresInRow++;
    restarts++;
    LOG.info("restarting the supervised engine in " + delay + " ms");
    // Starting a process forks and touches files: not on an event loop.
    vertx.setTimer(delay, id -> vertx.executeBlocking(() -> {
      launch();
      return null;
    }, false));
  }

  /** An engine that is alive but does not answer (hung, stopped) is killed; exit restarts it. */
  private void checkHealth() {
    Process p;
    synchronized (this) {
      p = process;
      if (closed || p == null || !p.isAlive() || System.nanoTime() - startedAt < 5_000_000_000L) {
        return; // a starting JVM gets 5 s before its silence counts
      }
    }
    health().onComplete(ar -> {
      synchronized (this) {
        if (p != process) {
          return;
        }
        // A check that failed while the engine answered calls in the last 3 s does not count:
        // it is busy (its health check waits behind calls), not hung.
        boolean busy = ar.failed() && EngineActivity.answeredWithin(url(), 3_000_000_000L);
        missedHealth = ar.succeeded() || busy ? 0 : missedHealth + 1;
        if (missedHealth >= 3) {
          LOG.warning("supervised engine (pid " + p.pid() + ") failed 3 health checks in a row: killing it");
          missedHealth = 0;
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
        }
      }
    });
  }

  private static void relayOutput(Process p) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          LOG.info("[engine " + p.pid() + "] " + line);
        }
      } catch (IOException e) {
        // the engine is gone; its exit is reported by exited()
      }
    }, "engine-output-" + p.pid());
    t.setDaemon(true);
    t.start();
  }

  /** Stops the engine (SIGTERM, then SIGKILL after 5 s) and removes its directory and cgroups. */
  public void close() {
    Process p;
    synchronized (this) {
      closed = true;
      p = process;
    }
    vertx.cancelTimer(healthTimer);
    EngineActivity.forget(url());
    if (p != null && p.isAlive()) {
      List<ProcessHandle> all = p.descendants().toList();
      p.destroy();
      all.forEach(ProcessHandle::destroy);
      try {
        if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
          all.forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly().waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
        }
        for (ProcessHandle h : all) {
          h.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
        }
      } catch (Exception e) {
        Thread.currentThread().interrupt();
      }
    }
    client.close();
    limits.close();
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      LOG.fine("cannot remove " + socket + ": " + e);
    }
    WorkDirectories.removeOurs(dir);
  }
}
