package dev.keystone.metrics;

import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A latency histogram with fixed buckets, as Prometheus expects them: lock-free (one
 * {@link LongAdder} per bucket), so event loops never contend on a lock to record.
 */
public final class Histogram {

  /** Upper bounds in seconds; one more bucket (+Inf) follows. Dense below 100 ms, where a proxy lives. */
  public static final double[] BOUNDS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  private static final long[] BOUNDS_NANOS = new long[BOUNDS.length];

  static {
    for (int i = 0; i < BOUNDS.length; i++) {
      BOUNDS_NANOS[i] = Math.round(BOUNDS[i] * 1e9);
    }
  }

  private final LongAdder[] buckets = new LongAdder[BOUNDS.length + 1]; // not cumulative
  private final DoubleAdder sum = new DoubleAdder();

  public Histogram() {
    for (int i = 0; i < buckets.length; i++) {
      buckets[i] = new LongAdder();
    }
  }

  /** Records into the histogram held by {@code ref}, making it on first use (most cells never get one). */
  static void observeInto(java.util.concurrent.atomic.AtomicReference<Histogram> ref, long nanos) {
    Histogram h = ref.get();
    if (h == null) {
      ref.compareAndSet(null, new Histogram());
      h = ref.get();
    }
    h.observeNanos(nanos);
  }

  public void observeNanos(long nanos) {
    int i = 0;
    while (i < BOUNDS_NANOS.length && nanos > BOUNDS_NANOS[i]) {
      i++;
    }
    buckets[i].increment();
    sum.add(nanos / 1e9);
  }

  /** Cumulative counts per bucket, the last one (+Inf) being the total count. */
  public long[] cumulative() {
    long[] out = new long[buckets.length];
    long running = 0;
    for (int i = 0; i < buckets.length; i++) {
      running += buckets[i].sum();
      out[i] = running;
    }
    return out;
  }

  public double sumSeconds() {
    return sum.sum();
  }
}
