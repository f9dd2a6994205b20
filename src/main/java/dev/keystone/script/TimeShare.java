package dev.keystone.script;

import java.util.function.LongSupplier;

/**
 * How much event-loop time one tenant's scripts may take: {@code script_limits.time_per_second},
 * as a token bucket of nanoseconds (one second's worth of burst). Each call is bounded by its
 * deadline, but a tenant sending many requests at once could still keep every event loop busy
 * with calls that each end in time; once its share is spent, its calls fail at once (its
 * {@code on_script_error} applies) until the bucket refills, and the other tenants keep the rest.
 *
 * <p>Tenants' shares may add up to more than the event loops have (four tenants at 500 ms a
 * second fill two loops: attack round 3 on issue 13, F9), so each share may also draw on a
 * process-wide one (its {@code parent}). When that is spent, a tenant goes on only while what it
 * used lately plus its last call stays under its fair part ({@code fair}: the process share
 * shared max-min fairly among the tenants active lately, {@link #fairPart}); so light tenants go on however many
 * heavy ones there are, and together the tenants at their fair part use about the process share.
 * How much a tenant used lately is a decaying sum (time constant one second), not its bucket: a
 * tenant spending just under what its bucket refills keeps the bucket full (attack round 5,
 * R5-T3). Held to a quarter of their own share instead, eight tenants of 60 ms a second counted as
 * light and kept the really light ones out (the Node engine's round 2, N2-7, same rule). The last
 * call counts because calls come in lumps; the process's debt is capped at one second's worth,
 * since calls that overran their deadline by far put it seconds in debt, and a debt rule then kept
 * every tenant out (Node engine round 3, N3-1).
 */
public final class TimeShare {

  private final long perSecondNanos;
  private final LongSupplier clock;
  /** The process's share, or null. */
  private final TimeShare parent;
  private long tokens;
  private long refilledAt;
  /** Time spent lately: each nanosecond counts less as time passes (e^-t, t in seconds). */
  private double recent;
  private long recentAt;
  /** What a tenant may have used lately and still go on while the process share is spent (ns). */
  private final java.util.function.DoubleSupplier fair;
  /** The most the bucket may be in debt (ns): one second's worth for the process share, else unbounded. */
  private long maxDebt = Long.MAX_VALUE;
  /** The last call's time (ns). */
  private long last;
  /** All calls' time together (ns). */
  private long spent;

  /** The process-wide share: its debt capped at one second's worth. */
  public static TimeShare process(long perSecondNanos) {
    return process(perSecondNanos, System::nanoTime);
  }

  static TimeShare process(long perSecondNanos, LongSupplier clock) {
    TimeShare t = new TimeShare(perSecondNanos, clock);
    t.maxDebt = perSecondNanos;
    return t;
  }

  public TimeShare(long perSecondNanos) {
    this(perSecondNanos, System::nanoTime, null);
  }

  /** A tenant's share that also draws on the process's {@code parent}. */
  public TimeShare(long perSecondNanos, TimeShare parent) {
    this(perSecondNanos, System::nanoTime, parent);
  }

  /** With {@code clock} (nanoseconds) replaced in tests. */
  TimeShare(long perSecondNanos, LongSupplier clock) {
    this(perSecondNanos, clock, null);
  }

  TimeShare(long perSecondNanos, LongSupplier clock, TimeShare parent) {
    this(perSecondNanos, clock, parent, () -> perSecondNanos / 4.0);
  }

  /** A tenant's share held, when the process share is spent, to {@code fair} nanoseconds of recent use. */
  public TimeShare(long perSecondNanos, TimeShare parent, java.util.function.DoubleSupplier fair) {
    this(perSecondNanos, System::nanoTime, parent, fair);
  }

  TimeShare(long perSecondNanos, LongSupplier clock, TimeShare parent, java.util.function.DoubleSupplier fair) {
    this.fair = fair;
    this.perSecondNanos = perSecondNanos;
    this.clock = clock;
    this.parent = parent;
    this.tokens = perSecondNanos;
    this.refilledAt = clock.getAsLong();
    this.recentAt = refilledAt;
  }

  /** Whether the tenant has time left for a call now. */
  public boolean available() {
    long own;
    double used;
    synchronized (this) {
      refill();
      own = tokens;
      used = decayedRecent() + last;
    }
    if (own <= 0) {
      return false;
    }
    if (parent == null || parent.available()) {
      return true;
    }
    return used < fair.getAsDouble();
  }

  /** Time used lately (ns, decaying with a time constant of one second). */
  synchronized double recentNanos() {
    return decayedRecent();
  }

  /**
   * A tenant's fair part while the process share is spent: the max-min fair level of
   * {@code processPerSecond} over the {@code shares} that used at least a millisecond lately
   * ({@link #waterLevel}), or the average of their recent use, whichever is more. An equal part
   * alone refuses an ordinary tenant next to many heavy ones (more tenants, smaller parts), and let
   * tenants that ran one short call lately shrink everyone's part; the average alone lets tenants
   * with calls in big lumps take turns past the share.
   */
  public static double fairPart(long processPerSecond, Iterable<TimeShare> shares) {
    double[] recents = new double[16];
    int n = 0;
    double sum = 0;
    for (TimeShare t : shares) {
      double r = t.recentNanos();
      if (r >= 1_000_000) {
        if (n == recents.length) {
          recents = java.util.Arrays.copyOf(recents, n * 2);
        }
        recents[n++] = r;
        sum += r;
      }
    }
    double average = n == 0 ? 0 : sum / n;
    return Math.max(waterLevel(processPerSecond, java.util.Arrays.copyOf(recents, n)), average);
  }

  /**
   * The max-min fair level of {@code share} over tenants that used {@code recents} lately: each
   * tenant using less keeps what it uses, those using more get the same, the level, together the
   * share. When all fit under the share no one is over a level: then an equal part (the largest use
   * plus what is left let tenants together run past the share). Sorts {@code recents}.
   */
  static double waterLevel(double share, double[] recents) {
    java.util.Arrays.sort(recents);
    double left = share;
    for (int i = 0; i < recents.length; i++) {
      double equal = left / (recents.length - i);
      if (recents[i] > equal) {
        return equal;
      }
      left -= recents[i];
    }
    return share / Math.max(1, recents.length);
  }

  /** How far the bucket is below empty, in nanoseconds (0 when it is not). */
  synchronized long debt() {
    refill();
    return Math.max(0, -tokens);
  }

  private double decayedRecent() {
    long now = clock.getAsLong();
    recent *= Math.exp(-(now - recentAt) / 1e9);
    recentAt = now;
    return recent;
  }

  /** A call took {@code nanos}. */
  public void spend(long nanos) {
    synchronized (this) {
      refill();
      tokens = Math.max(tokens - nanos, -maxDebt);
      recent = decayedRecent() + nanos;
      last = nanos;
      spent += nanos;
    }
    if (parent != null) {
      parent.spend(nanos);
    }
  }

  /** All calls' time together (ns). */
  synchronized long spentNanos() {
    return spent;
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
