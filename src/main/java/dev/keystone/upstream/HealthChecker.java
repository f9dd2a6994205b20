package dev.keystone.upstream;

import dev.keystone.model.Backend;
import dev.keystone.model.HealthTarget;


import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.logging.Logger;

/**
 * Active health checks, as in the original: every interval a GET to the service URL's path plus
 * its health path, with a 3 s timeout; a status below 400 is healthy. {@link #sync} is called
 * with each new snapshot: checks of unchanged backends keep running (and their state), removed
 * ones stop, new ones start.
 *
 * <p>Built for large configs. The first checks run at once, as in the original (backends are
 * unhealthy until checked), but a config that brings many new backends spreads them at
 * {@link #FIRST_CHECKS_PER_SECOND}. The second check of each backend comes anywhere from half an
 * interval to one and a half after the first, and every later one an interval later give or
 * take 10 %, so thousands of backends are never checked in the same instant. Checks reuse a
 * kept-alive connection per backend; a check that meets a connection the backend just closed as
 * idle is made once more on a new one, so keep-alive never fails a check.
 */
public final class HealthChecker implements AutoCloseable {

  static final long TIMEOUT_MS = 3000;
  /** The most of a health response's body that is read; a longer one costs its connection. */
  static final long MAX_BODY = 64 * 1024;
  /** How fast the first checks of newly configured backends start (a burst of 10,000 takes 2 s). */
  static final int FIRST_CHECKS_PER_SECOND = 5000;
  private static final Logger LOG = Logger.getLogger("keystone.health");

  private final Vertx vertx;
  private final Clock clock;
  /** A client per TLS setting (null: plain http): equal settings share one. */
  private final Map<dev.keystone.model.UpstreamTls, HttpClientAgent> clients = new java.util.concurrent.ConcurrentHashMap<>();
  private final HttpClientAgent plain;
  private final DoubleSupplier random;
  private final Map<String, Running> running = new HashMap<>();

  private final class Running {
    final HealthTarget target;
    volatile long timerId;
    volatile boolean stopped;
    int checks;

    Running(HealthTarget target, long spreadMillis) {
      this.target = target;
      schedule((long) (random.getAsDouble() * Math.min(target.interval().toMillis(), spreadMillis)));
    }

    void schedule(long delay) {
      if (!stopped) {
        timerId = vertx.setTimer(Math.max(1, delay), id -> check(this));
      }
    }

    /** The wait before the next check: the second spreads the phase, later ones jitter by 10 %. */
    long nextDelay() {
      long interval = target.interval().toMillis();
      double factor = checks == 1 ? 0.5 + random.getAsDouble() : 0.9 + 0.2 * random.getAsDouble();
      return (long) (interval * factor);
    }

    void stop() {
      stopped = true;
      vertx.cancelTimer(timerId);
    }
  }

  public HealthChecker(Vertx vertx, Clock clock) {
    this(vertx, clock, () -> ThreadLocalRandom.current().nextDouble());
  }

  /** @param random numbers in [0, 1) for the spread (a seeded source in tests) */
  public HealthChecker(Vertx vertx, Clock clock, DoubleSupplier random) {
    this.vertx = vertx;
    this.clock = clock;
    this.random = random;
    this.plain = newClient();
  }

  private HttpClientAgent newClient() {
    return vertx.httpClientBuilder()
        .with(new HttpClientOptions()
            .setKeepAlive(true)
            .setKeepAliveTimeout(120)
            .setConnectTimeout((int) TIMEOUT_MS))
        // Checks of one backend never overlap: one connection each is enough.
        .with(new PoolOptions().setHttp1MaxSize(1))
        .build();
  }

  /** Replaces the set of checks; those whose key and interval are unchanged keep running. */
  public synchronized void sync(Iterable<HealthTarget> targets) {
    Map<String, HealthTarget> wanted = new HashMap<>();
    for (HealthTarget t : targets) {
      // The same backend in two tenants is checked once, at the shorter interval.
      wanted.merge(t.key(), t, (a, b) -> a.interval().compareTo(b.interval()) <= 0 ? a : b);
    }
    running.entrySet().removeIf(e -> {
      HealthTarget w = wanted.get(e.getKey());
      if (w != null && w.interval().equals(e.getValue().target.interval())) {
        return false;
      }
      e.getValue().stop();
      return true;
    });
    long added = wanted.keySet().stream().filter(k -> !running.containsKey(k)).count();
    long spread = added * 1000 / FIRST_CHECKS_PER_SECOND;
    for (HealthTarget t : wanted.values()) {
      running.computeIfAbsent(t.key(), k -> new Running(t, spread));
    }
  }

  private void check(Running r) {
    if (r.stopped) {
      return;
    }
    r.checks++;
    Backend b = r.target.backend();
    probe(b, true).onComplete(ar -> {
      r.schedule(r.nextDelay());
      boolean up = ar.succeeded() && ar.result() < 400;
      String reason = ar.succeeded()
          ? "GET " + b.healthUri() + " returned " + ar.result()
          : "GET " + b.healthUri() + " failed: " + describe(ar.cause());
      b.health().countCheck(up);
      if (b.health().record(up, reason, clock.instant())) {
        LOG.info(() -> "backend " + b + " is now " + (up ? "healthy" : "unhealthy") + ": " + reason);
      }
    });
  }

  /** The health endpoint's status; once more on a new connection if a kept-alive one was closed under it. */
  private Future<Integer> probe(Backend b, boolean mayRepeat) {
    RequestOptions options = UpstreamTarget.of(b, new RequestOptions())
        .setMethod(HttpMethod.GET)
        .setURI(b.healthUri())
        .putHeader("Host", b.authority())
        .putHeader("User-Agent", "keystone-health-check")
        .setTimeout(TIMEOUT_MS);
    // The status decides. The body is read and dropped as it comes, never held; past
    // MAX_BODY the connection is dropped instead of read further.
    HttpClientAgent client = b.ssl() ? clients.computeIfAbsent(b.tls(), tls -> newClient()) : plain;
    Future<Integer> status = client.request(options)
        .compose(req -> req.send().map(resp -> {
          long[] seen = {0};
          resp.exceptionHandler(HealthChecker::ignore);
          resp.handler(chunk -> {
            seen[0] += chunk.length();
            if (seen[0] > MAX_BODY) {
              resp.handler(null);
              req.reset();
            }
          });
          return resp.statusCode();
        }));
    return mayRepeat ? status.recover(t -> t instanceof HttpClosedException ? probe(b, false) : Future.failedFuture(t))
        : status;
  }

  private static void ignore(Throwable t) {
  }

  static String describe(Throwable t) {
    String msg = t.getMessage();
    return msg == null ? t.getClass().getSimpleName() : msg;
  }

  @Override
  public synchronized void close() {
    running.values().forEach(Running::stop);
    running.clear();
    plain.close();
    clients.values().forEach(HttpClientAgent::close);
  }
}
