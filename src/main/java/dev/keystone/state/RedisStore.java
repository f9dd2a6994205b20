package dev.keystone.state;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.logging.Logger;

/**
 * The cluster's state store ({@code state_store: redis://...}) on Vert.x's Redis client, which runs
 * on the gateway's own event loops. Every call has a deadline ({@link #TIMEOUT_MS}: a request that
 * waits on Redis waits no longer), and a failure marks the store down for a backoff (100 ms
 * doubling to 5 s) during which calls fail at once instead of each waiting for it: the callers'
 * fallbacks then cost nothing.
 */
public final class RedisStore implements AutoCloseable {

  public static final long TIMEOUT_MS = 500;
  private static final long MAX_BACKOFF_MS = 5000;
  private static final Logger LOG = Logger.getLogger("keystone.state");

  private final Vertx vertx;
  private final String url;
  private final Redis redis;
  private volatile long downUntil; // System.nanoTime(); 0: up
  private volatile String problem;
  private long backoffMs = 100; // guarded by this
  private final long pinger;

  private final long timeoutMs;

  public RedisStore(Vertx vertx, String url) {
    this(vertx, url, TIMEOUT_MS);
  }

  /**
   * The same with another deadline per call: {@link #TIMEOUT_MS} where a request waits, longer
   * off the request path (ACME: a cold JVM's first calls took more than 500 ms, attack s19-acme F1).
   */
  public RedisStore(Vertx vertx, String url, long timeoutMs) {
    this.timeoutMs = timeoutMs;
    this.vertx = vertx;
    this.url = url;
    this.redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(url).setMaxPoolSize(8)
        .setMaxPoolWaiting(4096).setMaxWaitingHandlers(4096));
    // a PING every 2 s: an idle instance says when Redis is back without waiting for traffic to
    // try (attack s18-cluster F7), and that it went away (attack s19-acme F5: with no traffic,
    // a frozen or killed Redis was reported connected)
    this.pinger = vertx.setPeriodic(2000, t -> send(Request.cmd(Command.PING)));
  }

  public String url() {
    return url;
  }

  /** Whether the last call succeeded (or the backoff after a failure is over). */
  public boolean up() {
    return downUntil == 0;
  }

  /** Why the store is down, or null. */
  public String problem() {
    return problem;
  }

  /** Sends {@code request}: its answer, or a failure within {@link #TIMEOUT_MS}, at once while the store is down. */
  public Future<Response> send(Request request) {
    long until = downUntil;
    if (until != 0 && System.nanoTime() - until < 0) {
      return Future.failedFuture("state store " + url + " is down: " + problem);
    }
    Promise<Response> p = Promise.promise();
    long timer = vertx.setTimer(timeoutMs, t -> p.tryFail("state store " + url + " did not answer within " + timeoutMs + " ms"));
    redis.send(request).onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        p.tryComplete(ar.result());
      } else {
        p.tryFail(ar.cause());
      }
    });
    return p.future().onComplete(ar -> {
      if (ar.succeeded() || ar.cause() instanceof io.vertx.redis.client.impl.types.ErrorType) {
        recovered(); // an error reply (WRONGTYPE, NOSCRIPT...) is Redis answering: it is up
      } else {
        failed(ar.cause());
      }
    });
  }

  /**
   * Connects with a first PING, waiting up to {@code maxMs}: called before the listeners open, so
   * that the first requests do not pay for the connection (a cold JVM's first call can take longer
   * than {@link #TIMEOUT_MS}, and its failure sent the first requests to their fallback). Never
   * fails: a store that does not answer is met by the first requests as at any other time.
   */
  public Future<Void> warmUp(long maxMs) {
    Promise<Void> p = Promise.promise();
    long timer = vertx.setTimer(maxMs, t -> p.tryComplete());
    redis.send(Request.cmd(Command.PING)).onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        recovered();
      }
      p.tryComplete();
    });
    return p.future();
  }

  /** A connection of its own (pub/sub: a subscribed connection takes no other commands). */
  public Future<io.vertx.redis.client.RedisConnection> connect() {
    return redis.connect();
  }

  public Vertx vertx() {
    return vertx;
  }

  /** Runs a Lua script by its SHA-1 (loading it on the first NOSCRIPT). */
  public Future<Response> eval(String script, String sha1, java.util.List<String> keys, java.util.List<String> args) {
    Request r = Request.cmd(Command.EVALSHA).arg(sha1).arg(keys.size());
    keys.forEach(r::arg);
    args.forEach(r::arg);
    return send(r).recover(e -> {
      if (!isScriptMissing(e)) {
        return Future.failedFuture(e);
      }
      Request full = Request.cmd(Command.EVAL).arg(script).arg(keys.size());
      keys.forEach(full::arg);
      args.forEach(full::arg);
      return send(full);
    });
  }

  static boolean isScriptMissing(Throwable e) {
    return e != null && e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT");
  }

  public static String sha1(String script) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void failed(Throwable e) {
    boolean wasUp;
    synchronized (this) {
      wasUp = downUntil == 0;
      downUntil = System.nanoTime() + backoffMs * 1_000_000;
      if (downUntil == 0) {
        downUntil = 1;
      }
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      problem = e.getMessage();
    }
    if (wasUp) {
      LOG.warning("state store " + url + " failed (" + e.getMessage() + "): cluster rate limits use their fallback"
          + " (on_store_failure) until it answers again");
    }
  }

  private void recovered() {
    boolean wasDown;
    synchronized (this) {
      wasDown = downUntil != 0;
      downUntil = 0;
      backoffMs = 100;
      problem = null;
    }
    if (wasDown) {
      LOG.info("state store " + url + " answers again");
    }
  }

  @Override
  public void close() {
    vertx.cancelTimer(pinger);
    redis.close();
  }
}
