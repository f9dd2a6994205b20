package dev.keystone.app;

import dev.keystone.config.ListenAddress;
import dev.keystone.engine.Engine;
import io.vertx.core.net.SocketAddress;
import sun.misc.Signal;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * {@code keystone engine [--scripts DIR] [--listen ADDR]}: runs the Lua script engine as its own
 * process (docs/engine-protocol.md). ADDR is {@code host:port} (default 127.0.0.1:8081, the
 * original engine's port) or {@code unix:/path/to/socket}. SIGHUP reloads the scripts;
 * SIGTERM/SIGINT stop it.
 */
final class EngineCommand {

  private static final Logger LOG = Logger.getLogger("keystone.engine");

  static final String USAGE = """
      usage: keystone engine [--scripts DIR] [--listen ADDR] [--event-loops N]
        --scripts      directory of *.lua scripts (default: scripts)
        --listen       host:port (default 127.0.0.1:8081) or unix:/path/to/engine.sock
        --event-loops  default: the number of cores
        --parent       PID: exit when that process is gone (set by a gateway that supervises it)
      """;

  private EngineCommand() {
  }

  /** Parses the arguments; returns the address to listen on, or throws with a readable message. */
  static SocketAddress address(String listen) {
    if (listen.startsWith("unix:")) {
      return SocketAddress.domainSocketAddress(listen.substring(5));
    }
    ListenAddress a = ListenAddress.parse(listen);
    return SocketAddress.inetSocketAddress(a.port(), a.host());
  }

  static int run(String[] args) throws Exception {
    Path scripts = Path.of("scripts");
    String listen = "127.0.0.1:8081";
    int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
    long parent = 0;
    try {
      for (int i = 0; i < args.length; i++) {
        String value = i + 1 < args.length ? args[i + 1] : null;
        if (value == null) {
          throw new IllegalArgumentException(args[i] + " needs a value");
        }
        switch (args[i]) {
          case "--scripts" -> scripts = Path.of(value);
          case "--listen" -> listen = value;
          case "--event-loops" -> loops = Integer.parseInt(value);
          case "--parent" -> parent = Long.parseLong(value);
          default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
        }
        i++;
      }
      address(listen);
    } catch (IllegalArgumentException e) {
      System.err.println("keystone engine: " + e.getMessage());
      System.err.print(USAGE);
      return 2;
    }
    Logging.configure(System.out);
    Engine engine;
    try {
      engine = Engine.start(scripts, address(listen), loops).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      LOG.severe("engine did not start: " + e.getCause().getMessage());
      Logging.flush();
      return 1;
    }
    LOG.info("Keystone engine listening on " + engine.boundAddress() + " (scripts: " + scripts.toAbsolutePath() + ")");
    Signal.handle(new Signal("HUP"), s -> engine.reloadAsync());
    Runnable stop = () -> {
      engine.close().toCompletionStage().toCompletableFuture().join();
      Logging.flush();
      System.exit(0);
    };
    Signal.handle(new Signal("TERM"), s -> new Thread(stop, "engine-shutdown").start());
    Signal.handle(new Signal("INT"), s -> new Thread(stop, "engine-shutdown").start());
    if (parent > 0) {
      exitWithParent(parent);
    }
    Thread.currentThread().join(); // serve until a signal stops the process
    return 0;
  }

  /**
   * A supervised engine outside a sandbox would outlive a gateway killed with -9 (bubblewrap's
   * --die-with-parent covers the sandboxed case): go with the parent.
   */
  private static void exitWithParent(long pid) {
    Runnable stop = () -> {
      LOG.info("the gateway (pid " + pid + ") is gone: stopping");
      Logging.flush();
      Runtime.getRuntime().halt(0);
    };
    ProcessHandle.of(pid).ifPresentOrElse(parent -> parent.onExit().thenRun(stop), stop);
  }
}
