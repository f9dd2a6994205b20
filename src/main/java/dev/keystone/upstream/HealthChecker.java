package dev.keystone.upstream;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Active health checks, as in the original: every interval a GET to the service URL's path plus
 * its health path, with a 3 s timeout; a status below 400 is healthy. The first check runs at
 * once. {@link #sync} is called with each new snapshot: checks of unchanged backends keep running
 * (and their state), removed ones stop, new ones start.
 */
public final class HealthChecker implements AutoCloseable {

  /** One check to run: the backend to probe and how often. */
  public record Target(String key, Backend backend, Duration interval) {
  }

  static final long TIMEOUT_MS = 3000;
  private static final Logger LOG = Logger.getLogger("keystone.health");

  private final Vertx vertx;
  private final Clock clock;
  private final HttpClient client;
  private final Map<String, Running> running = new HashMap<>();

  private final class Running {
    final Target target;
    final long timerId;
    volatile boolean inFlight;

    Running(Target target) {
      this.target = target;
      this.timerId = vertx.setPeriodic(1, target.interval().toMillis(), id -> check(this));
    }
  }

  public HealthChecker(Vertx vertx, Clock clock) {
    this.vertx = vertx;
    this.clock = clock;
    // A fresh connection per check: a check should prove that a new connection can be opened.
    this.client = vertx.createHttpClient(new HttpClientOptions()
        .setKeepAlive(false)
        .setConnectTimeout((int) TIMEOUT_MS)
        .setTrustAll(true)
        .setVerifyHost(false));
  }

  /** Replaces the set of checks; those whose key and interval are unchanged keep running. */
  public synchronized void sync(Iterable<Target> targets) {
    Map<String, Target> wanted = new HashMap<>();
    for (Target t : targets) {
      // The same backend in two tenants is checked once, at the shorter interval.
      wanted.merge(t.key(), t, (a, b) -> a.interval().compareTo(b.interval()) <= 0 ? a : b);
    }
    running.entrySet().removeIf(e -> {
      Target w = wanted.get(e.getKey());
      if (w != null && w.interval().equals(e.getValue().target.interval())) {
        return false;
      }
      vertx.cancelTimer(e.getValue().timerId);
      return true;
    });
    for (Target t : wanted.values()) {
      running.computeIfAbsent(t.key(), k -> new Running(t));
    }
  }

  private void check(Running r) {
    if (r.inFlight) {
      return; // the previous check is still waiting for its timeout
    }
    r.inFlight = true;
    Backend b = r.target.backend();
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setHost(b.host())
        .setPort(b.port())
        .setSsl(b.ssl())
        .setURI(b.healthUri())
        .putHeader("Host", b.authority())
        .putHeader("User-Agent", "keystone-health-check")
        .setTimeout(TIMEOUT_MS);
    client.request(options)
        .compose(req -> req.send().compose(resp -> resp.body().map(body -> resp.statusCode())))
        .onComplete(ar -> {
          r.inFlight = false;
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

  static String describe(Throwable t) {
    String msg = t.getMessage();
    return msg == null ? t.getClass().getSimpleName() : msg;
  }

  @Override
  public synchronized void close() {
    running.values().forEach(r -> vertx.cancelTimer(r.timerId));
    running.clear();
    client.close();
  }
}
