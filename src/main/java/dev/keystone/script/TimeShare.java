package dev.keystone.script;

import java.util.function.LongSupplier;

/**
 * How much event-loop time one tenant's scripts may take: {@code script_limits.time_per_second},
 * as a token bucket of nanoseconds (one second's worth of burst). Each call is bounded by its
 * deadline, but a tenant sending many requests at once could still keep every event loop busy
 * with calls that each end in time; once its share is spent, its calls fail at once (its
 * {@code on_script_error} applies) until the bucket refills, and the other tenants keep the rest.
 */
public final class TimeShare {

  private final long perSecondNanos;
  private final LongSupplier clock;
  private long tokens;
  private long refilledAt;

  public TimeShare(long perSecondNanos) {
    this(perSecondNanos, System::nanoTime);
  }

  /** With {@code clock} (nanoseconds) replaced in tests. */
  TimeShare(long perSecondNanos, LongSupplier clock) {
    this.perSecondNanos = perSecondNanos;
    this.clock = clock;
    this.tokens = perSecondNanos;
    this.refilledAt = clock.getAsLong();
  }

  /** Whether the tenant has time left for a call now. */
  public synchronized boolean available() {
    refill();
    return tokens > 0;
  }

  /** A call took {@code nanos}. */
  public synchronized void spend(long nanos) {
    refill();
    tokens -= nanos;
  }

  long perSecondNanos() {
    return perSecondNanos;
  }

  private void refill() {
    long now = clock.getAsLong();
    long elapsed = now - refilledAt;
    refilledAt = now;
    // elapsed (ns) * perSecond / 1e9, in long without overflow for any elapsed below ~100 days
    long add = (long) (elapsed / 1e9 * perSecondNanos);
    tokens = Math.min(perSecondNanos, tokens + add);
  }
}
