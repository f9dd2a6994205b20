package dev.keystone.gateway;

import dev.keystone.model.Timeouts;
import dev.keystone.proxy.ProxyServer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.List;
import java.util.logging.Logger;

/**
 * A graceful stop, in the order that fails nothing. Readiness has already failed (load balancers
 * stop sending); the proxy keeps accepting for {@code timeouts.shutdown_delay} (until they have
 * noticed), then stops accepting and lets in-flight requests finish for up to
 * {@code timeouts.shutdown}; only then stop what those requests may still need (health checks,
 * the supervised engine) and, last, the admin listener that reported the stop.
 */
final class GracefulStop {

  private static final Logger LOG = Logger.getLogger("keystone.gateway");

  private GracefulStop() {
  }

  /**
   * @param beforeDrain    stops what must not change the config during the drain (the file watcher)
   * @param afterDrain     stops what the drained requests needed; may block (runs on a worker)
   * @param last           closes the admin listener
   */
  static Future<Void> run(Vertx vertx, Timeouts timeouts, List<ProxyServer> servers, Runnable beforeDrain,
                          Runnable afterDrain, Runnable last) {
    Promise<Void> delayed = Promise.promise();
    long delay = timeouts.shutdownDelay().toMillis();
    if (delay > 0) {
      LOG.info("stopping: readiness fails now; accepting for " + delay + " ms more (timeouts.shutdown_delay)");
      vertx.setTimer(delay, id -> delayed.complete());
    } else {
      delayed.complete();
    }
    long timeout = timeouts.shutdown().toMillis();
    return delayed.future()
        .compose(v -> {
          beforeDrain.run();
          return Future.all(servers.stream().map(s -> s.shutdown(timeout)).toList());
        })
        .transform(ar -> vertx.executeBlocking(() -> {
          afterDrain.run();
          return null;
        }, false))
        .transform(ar -> {
          last.run();
          return vertx.close();
        });
  }
}
