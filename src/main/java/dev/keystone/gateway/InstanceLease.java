package dev.keystone.gateway;

import dev.keystone.cluster.EtcdClient;
import dev.keystone.cluster.StoreUrl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * This instance in its cluster's list ({@code PREFIX/instances/ID}): written under a lease of
 * {@link #TTL_SECONDS}, rewritten and kept alive every {@link #RENEW_MS} with what the instance
 * serves (config revision, health). An instance that dies leaves the list when its lease ends; one
 * that stops is taken off at once. After etcd was away longer than the lease, a new one is taken.
 */
final class InstanceLease {

  static final long TTL_SECONDS = 15;
  static final long RENEW_MS = 5000;
  private static final Logger LOG = Logger.getLogger("keystone.store");

  private final Vertx vertx;
  private final EtcdClient etcd;
  private final String key;
  private final String id;
  private final Supplier<JsonObject> describe;
  private final long timer;
  private long lease; // touched on the event loop only (renew chains run there)
  private boolean renewing;
  /** A renewal was asked while one was under way (guarded by this). */
  private boolean again;
  private boolean closed;

  InstanceLease(Vertx vertx, EtcdClient etcd, StoreUrl url, String id, Supplier<JsonObject> describe) {
    this.vertx = vertx;
    this.etcd = etcd;
    this.id = id;
    this.key = url.instancesPrefix() + id;
    this.describe = describe;
    vertx.runOnContext(v -> renew());
    this.timer = vertx.setPeriodic(RENEW_MS, t -> renew());
  }

  String id() {
    return id;
  }

  /**
   * Writes the entry again now (after a config was applied or refused: keystone config push waits
   * for it), or right after the renewal under way: that one may have read the state before.
   */
  void renewSoon() {
    vertx.runOnContext(v -> {
      synchronized (this) {
        if (renewing) {
          again = true;
          return;
        }
      }
      renew();
    });
  }

  private static final java.util.concurrent.atomic.AtomicInteger IN_PROCESS = new java.util.concurrent.atomic.AtomicInteger();

  /**
   * A name that tells instances apart and says where each runs: host and process id (and a number
   * for a second gateway in one process, as tests run them).
   */
  static String defaultId() {
    int n = IN_PROCESS.incrementAndGet();
    String host = System.getenv("HOSTNAME");
    if (host == null || host.isBlank()) {
      try {
        host = java.nio.file.Files.readString(java.nio.file.Path.of("/etc/hostname")).trim();
      } catch (java.io.IOException e) {
        host = "localhost";
      }
    }
    return host.replaceAll("[^A-Za-z0-9._-]", "_") + "-" + ProcessHandle.current().pid() + (n == 1 ? "" : "-" + n);
  }

  private synchronized void renew() {
    if (renewing || closed) {
      return; // the previous renewal still waits on etcd: it will not be stacked up behind
    }
    renewing = true;
    Future<Long> leased = lease != 0 ? Future.succeededFuture(lease) : etcd.grantLease(TTL_SECONDS);
    leased.compose(l -> {
      synchronized (this) {
        lease = l;
      }
      return etcd.put(key, describe.get().put("id", id).encode(), l).compose(r -> etcd.keepAlive(l)).map(ttl -> {
        if (ttl <= 0) {
          synchronized (this) {
            lease = 0; // expired while etcd was away: the next renewal takes a new one
          }
        }
        return ttl;
      });
    }).onComplete(ar -> {
      boolean more;
      synchronized (this) {
        renewing = false;
        if (ar.failed() && ar.cause().getMessage() != null && ar.cause().getMessage().contains("lease not found")) {
          lease = 0;
        }
        more = again;
        again = false;
      }
      if (more) {
        renew(); // once: what was asked meanwhile, with the state as it is now
      }
    });
  }

  /** Takes this instance off the list (a dead instance's lease would end anyway). */
  Future<Void> close() {
    long l;
    synchronized (this) {
      closed = true;
      l = lease;
    }
    vertx.cancelTimer(timer);
    if (l == 0) {
      return Future.succeededFuture();
    }
    return etcd.revokeLease(l).recover(e -> {
      LOG.fine("instance " + id + " not taken off the list at once (its lease ends within " + TTL_SECONDS + " s): " + e);
      return Future.succeededFuture();
    });
  }
}
