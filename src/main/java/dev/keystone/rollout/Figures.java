package dev.keystone.rollout;

import dev.keystone.metrics.BackendTraffic;
import dev.keystone.metrics.Histogram;
import dev.keystone.metrics.TenantTraffic;

import java.util.Collection;

/**
 * A side of a split (the canary, or the tenant's other backends) as the metrics count it: answers
 * (clients that left before theirs are not counted), 5xx among them, and the response-head
 * latency histogram, all cumulative. A step is judged on the difference between two of them.
 */
record Figures(long answers, long errors, long[] latency) {

  static final Figures NONE = new Figures(0, 0, new long[Histogram.BOUNDS.length + 1]);
  private static final int FIVE_XX = 4;
  private static final int ABORTED = 5;

  /** The figures of {@code backends} of {@code traffic} (null: none yet). */
  static Figures of(TenantTraffic traffic, Collection<String> backends) {
    if (traffic == null) {
      return NONE;
    }
    long answers = 0;
    long errors = 0;
    long[] latency = new long[Histogram.BOUNDS.length + 1];
    for (String name : backends) {
      BackendTraffic b = traffic.backends().get(name);
      if (b == null) {
        continue;
      }
      answers += b.total() - b.requestsWithCode(ABORTED);
      errors += b.requestsWithCode(FIVE_XX);
      Histogram h = b.upstream();
      if (h != null) {
        long[] c = h.cumulative();
        for (int i = 0; i < latency.length && i < c.length; i++) {
          latency[i] += c[i];
        }
      }
    }
    return new Figures(answers, errors, latency);
  }

  /** What happened between {@code earlier} and these. */
  Figures since(Figures earlier) {
    long[] l = new long[latency.length];
    for (int i = 0; i < l.length; i++) {
      l[i] = latency[i] - earlier.latency[i];
    }
    return new Figures(answers - earlier.answers, errors - earlier.errors, l);
  }

  /** The share of answers that were 5xx (0 without answers). */
  double errorRate() {
    return answers == 0 ? 0 : (double) errors / answers;
  }

  /**
   * The 99th percentile of latency in seconds, interpolated within its bucket (as Prometheus's
   * histogram_quantile); NaN without observations; the largest bound when above it.
   */
  double p99Seconds() {
    long total = latency[latency.length - 1];
    if (total == 0) {
      return Double.NaN;
    }
    double rank = 0.99 * total;
    for (int i = 0; i < Histogram.BOUNDS.length; i++) {
      if (latency[i] >= rank) {
        double lower = i == 0 ? 0 : Histogram.BOUNDS[i - 1];
        long below = i == 0 ? 0 : latency[i - 1];
        long in = latency[i] - below;
        return in == 0 ? Histogram.BOUNDS[i] : lower + (Histogram.BOUNDS[i] - lower) * (rank - below) / in;
      }
    }
    return Histogram.BOUNDS[Histogram.BOUNDS.length - 1];
  }

  /** "120 answers, 0.8% 5xx, p99 42 ms" */
  String describe() {
    double p99 = p99Seconds();
    return answers + " answers, " + String.format(java.util.Locale.ROOT, "%.2f", 100 * errorRate()) + "% 5xx, p99 "
        + (Double.isNaN(p99) ? "-" : Math.round(p99 * 1000) + " ms");
  }
}
