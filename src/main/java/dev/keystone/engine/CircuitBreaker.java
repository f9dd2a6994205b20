package dev.keystone.engine;

/**
 * Stops calling an engine that keeps failing: after {@code threshold} failures in a row the
 * circuit opens and calls fail at once (the tenant's on_script_error policy applies without
 * waiting for a deadline); after about {@code openMillis} one trial call is let through, and its
 * success closes the circuit. Confined to one event loop.
 *
 * <p>How long it stays open is drawn each time from half to one and a half times
 * {@code openMillis}: circuits that opened together (twenty hostile tenants' calls failing at the
 * same moment, attack round 5 on the Node engine, N5-1) otherwise sent their trials together too,
 * every 2 s, and those calls held the engine's thread for seconds at a time.
 */
final class CircuitBreaker {

  private final int threshold;
  private final long openNanos;
  private int failures;
  private long openUntil;
  private boolean trialInFlight;
  private final java.util.function.DoubleSupplier random;

  CircuitBreaker(int threshold, long openMillis) {
    this(threshold, openMillis, () -> java.util.concurrent.ThreadLocalRandom.current().nextDouble());
  }

  /** With {@code random} (draws in [0, 1)) replaced in tests. */
  CircuitBreaker(int threshold, long openMillis, java.util.function.DoubleSupplier random) {
    this.threshold = threshold;
    this.openNanos = openMillis * 1_000_000;
    this.random = random;
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
      openUntil = now + (long) (openNanos * (0.5 + random.getAsDouble()));
    }
  }

  /** The call {@link #allow} let through did not go out after all. */
  void cancelTrial() {
    trialInFlight = false;
  }

  boolean open() {
    return failures >= threshold;
  }

  /** Whether a call at {@code now} would be refused (open, and not yet, or no longer, its trial's turn); changes nothing. */
  boolean refusing(long now) {
    return failures >= threshold && (now - openUntil < 0 || trialInFlight);
  }
}
