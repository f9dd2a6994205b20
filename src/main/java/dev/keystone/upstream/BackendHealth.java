package dev.keystone.upstream;

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
  private volatile String lastReason = "not checked yet";
  private volatile Instant lastCheck;
  private final Deque<Transition> history = new ArrayDeque<>();

  public boolean healthy() {
    return healthy;
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
