package dev.keystone.engine;

/**
 * Stops calling an engine that keeps failing: after {@code threshold} failures in a row the
 * circuit opens and calls fail at once (the tenant's on_script_error policy applies without
 * waiting for a deadline); after {@code openMillis} one trial call is let through, and its
 * success closes the circuit. Confined to one event loop.
 */
final class CircuitBreaker {

  private final int threshold;
  private final long openNanos;
  private int failures;
  private long openUntil;
  private boolean trialInFlight;

  CircuitBreaker(int threshold, long openMillis) {
    this.threshold = threshold;
    this.openNanos = openMillis * 1_000_000;
  }

  /** Whether a call may go out now. */
  boolean allow(long now) {
    if (failures < threshold) {
      return true;
    }
    if (now - openUntil >= 0 && !trialInFlight) {
      trialInFlight = true; // half-open: one trial
      return true;
    }
    return false;
  }

  void success() {
    failures = 0;
    trialInFlight = false;
  }

  void failure(long now) {
    failures++;
    trialInFlight = false;
    if (failures >= threshold) {
      openUntil = now + openNanos;
    }
  }

  /** The call {@link #allow} let through did not go out after all. */
  void cancelTrial() {
    trialInFlight = false;
  }

  boolean open() {
    return failures >= threshold;
  }
}
