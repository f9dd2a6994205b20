package dev.keystone.app;

import dev.keystone.gateway.Gateway;
import sun.misc.Signal;

import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * SIGHUP reloads the config; SIGTERM and SIGINT stop gracefully (no new connections, in-flight
 * requests finish within the shutdown timeout) and exit 0, as process managers expect.
 */
final class Signals {

  private static final Logger LOG = Logger.getLogger("keystone.main");

  private Signals() {
  }

  static void install(Gateway gateway, DemoBackends demo) {
    Signal.handle(new Signal("HUP"), s -> {
      LOG.info("SIGHUP: reloading");
      gateway.reloadFromFile("signal");
    });
    Runnable stop = () -> {
      LOG.info("shutting down: finishing in-flight requests");
      try {
        gateway.shutdown().toCompletionStage().toCompletableFuture().get(5, TimeUnit.MINUTES);
        if (demo != null) {
          demo.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
        LOG.info("stopped");
        Logging.flush();
        System.exit(0);
      } catch (Exception e) {
        LOG.warning("shutdown did not complete cleanly: " + e);
        Logging.flush();
        System.exit(1);
      }
    };
    Signal.handle(new Signal("TERM"), s -> new Thread(stop, "keystone-shutdown").start());
    Signal.handle(new Signal("INT"), s -> new Thread(stop, "keystone-shutdown").start());
  }
}
