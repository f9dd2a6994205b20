package dev.keystone.model;


import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Logger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Runtime health of one backend. It lives in the {@link HealthRegistry}, keyed by the backend's
 * URL and health path, not in the config, so a reload keeps it. Backends start unhealthy until
 * their first check passes, as in the original.
 *
 * <p>Two kinds of health, kept apart: the active check's verdict ({@link #healthy()}), and the
 * passive one from real requests ({@link #ejected()}): failures in a row eject the backend for a
 * while ({@code passive_health}); the while ends by itself, or, when a failed connection caused
 * it, as soon as an active check passes.
 */
public final class BackendHealth {

  private static final Logger LOG = Logger.getLogger("keystone.health");

  /** One change between healthy and unhealthy, with its reason. */
  public record Transition(Instant at, boolean healthy, String reason) {
  }

  private static final int HISTORY = 20;

  private volatile boolean healthy;
  private volatile boolean drained;
  private volatile Instant drainedAt;
  private final LongAdder checksPassed = new LongAdder();
  private final LongAdder checksFailed = new LongAdder();
  private volatile String lastReason = "not checked yet";
  private volatile Instant lastCheck;
  private final Deque<Transition> history = new ArrayDeque<>();
  private final Clock clock;
  // Passive health. Writes hold the lock; the per-request reads are of volatiles.
  private volatile int consecutiveFailures;
  private int ejectionsInARow;
  /** Epoch millis until which the backend is ejected; 0 when it is not. */
  private volatile long ejectedUntil;
  /** The ejection came from a failed connection, which a passing active check disproves. */
  private volatile boolean ejectedForConnect;
  private final LongAdder passiveFailures = new LongAdder();

  private final String key;

  public BackendHealth(String key, Clock clock) {
    this.key = key;
    this.clock = clock;
  }

  public BackendHealth() {
    this("?", Clock.systemUTC());
  }

  public boolean healthy() {
    return healthy;
  }

  /**
   * Drained by an operator: no new requests go to this backend, whatever its health, until it
   * is undrained. Kept here (keyed by URL) so it survives reloads.
   */
  public boolean drained() {
    return drained;
  }

  /** When it was last drained, or null. */
  public Instant drainedAt() {
    return drainedAt;
  }

  /** Drains or undrains; returns true if that changed the state. */
  public synchronized boolean drain(boolean on, Instant now) {
    if (drained == on) {
      return false;
    }
    drained = on;
    drainedAt = on ? now : null;
    return true;
  }

  /** Counts one active health check (metrics). */
  public void countCheck(boolean passed) {
    (passed ? checksPassed : checksFailed).increment();
  }

  public long checksPassed() {
    return checksPassed.sum();
  }

  public long checksFailed() {
    return checksFailed.sum();
  }

  public String lastReason() {
    return lastReason;
  }

  public Instant lastCheck() {
    return lastCheck;
  }

  /**
   * Records an active check; returns true if the state changed. A passing check also ends an
   * ejection that a failed connection caused: it just showed that a new connection works. An
   * ejection for failed answers (5xx, timeouts) runs its time: a health endpoint that answers
   * says little about the requests that did not.
   */
  public boolean record(boolean up, String reason, Instant now) {
    lastCheck = now;
    lastReason = reason;
    if (up && ejectedUntil != 0 && ejectedForConnect) {
      synchronized (this) {
        if (ejectedForConnect) {
          ejectedUntil = 0;
          consecutiveFailures = 0;
        }
      }
    }
    if (healthy == up) {
      return false;
    }
    synchronized (history) {
      if (healthy == up) {
        return false;
      }
      healthy = up;
      history.addLast(new Transition(now, up, reason));
      if (history.size() > HISTORY) {
        history.removeFirst();
      }
    }
    return true;
  }

  /** Failures of real requests in a row since the last success (passive health). */
  public int consecutiveFailures() {
    return consecutiveFailures;
  }

  /** Every failure of a real request so far (connect, timeout, broken connection, 5xx). */
  public long passiveFailures() {
    return passiveFailures.sum();
  }

  /** Whether passive health has taken this backend out for now. */
  public boolean ejected() {
    long until = ejectedUntil;
    return until != 0 && clock.millis() < until;
  }

  /** When the current ejection ends, or null when the backend is not ejected. */
  public Instant ejectedUntil() {
    long until = ejectedUntil;
    return until != 0 && clock.millis() < until ? Instant.ofEpochMilli(until) : null;
  }

  /** A request this backend answered below 500: the failures in a row start over. */
  public void passiveSuccess() {
    if (consecutiveFailures != 0 || ejectionsInARow != 0) {
      synchronized (this) {
        consecutiveFailures = 0;
        if (!ejected()) {
          ejectionsInARow = 0;
        }
      }
    }
  }

  /**
   * A request failed on this backend. {@code atOnce}: it could not even connect, which ejects at
   * the first occurrence; otherwise {@code policy.consecutiveFailures} in a row do.
   *
   * @return true when this failure ejected the backend
   */
  public boolean passiveFailure(String reason, PassiveHealth policy, boolean atOnce) {
    passiveFailures.increment();
    if (!policy.enabled()) {
      return false;
    }
    Duration d;
    synchronized (this) {
      int n = ++consecutiveFailures;
      if (ejected() || (!atOnce && n < policy.consecutiveFailures())) {
        return false;
      }
      ejectionsInARow++;
      long millis = Math.min(policy.ejection().toMillis() * ejectionsInARow, PassiveHealth.MAX_EJECTION.toMillis());
      d = Duration.ofMillis(millis);
      ejectedUntil = clock.millis() + millis;
      ejectedForConnect = atOnce;
      consecutiveFailures = 0;
    }
    LOG.warning(() -> "backend " + key + " ejected for " + d.toMillis() + " ms (" + (atOnce ? "connection failed"
        : policy.consecutiveFailures() + " failures in a row") + "): " + reason);
    return true;
  }

  public List<Transition> history() {
    synchronized (history) {
      return new ArrayList<>(history);
    }
  }
}
