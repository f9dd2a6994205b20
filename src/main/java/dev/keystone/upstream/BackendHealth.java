package dev.keystone.upstream;

import java.util.concurrent.atomic.LongAdder;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Runtime health of one backend. It lives in the {@link HealthRegistry}, keyed by the backend's
 * URL and health path, not in the config, so a reload keeps it. Backends start unhealthy until
 * their first check passes, as in the original.
 */
public final class BackendHealth {

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

  /** Records a check or passive observation; returns true if the state changed. */
  public boolean record(boolean up, String reason, Instant now) {
    lastCheck = now;
    lastReason = reason;
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

  public List<Transition> history() {
    synchronized (history) {
      return new ArrayList<>(history);
    }
  }
}
