package dev.keystone.admin;

import dev.keystone.metrics.Histogram;

/** Writes Prometheus text format lines: HELP/TYPE headers, samples with escaped labels, histograms. */
final class Exposition {

  private final StringBuilder sb = new StringBuilder(8192);

  void help(String name, String type, String help) {
    sb.append("# HELP ").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
    sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  /** One sample; {@code labels} are name, value pairs. */
  void sample(String name, double value, String... labels) {
    sb.append(name);
    labels(labels, null, null);
    sb.append(' ').append(format(value)).append('\n');
  }

  void histogram(String name, Histogram h, String... labels) {
    long[] cumulative = h.cumulative();
    for (int i = 0; i < cumulative.length; i++) {
      sb.append(name).append("_bucket");
      labels(labels, "le", i < Histogram.BOUNDS.length ? format(Histogram.BOUNDS[i]) : "+Inf");
      sb.append(' ').append(cumulative[i]).append('\n');
    }
    sb.append(name).append("_sum");
    labels(labels, null, null);
    sb.append(' ').append(format(h.sumSeconds())).append('\n');
    sb.append(name).append("_count");
    labels(labels, null, null);
    sb.append(' ').append(cumulative[cumulative.length - 1]).append('\n');
  }

  private void labels(String[] labels, String extraName, String extraValue) {
    if (labels.length == 0 && extraName == null) {
      return;
    }
    sb.append('{');
    for (int i = 0; i < labels.length; i += 2) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(labels[i]).append("=\"").append(escape(labels[i + 1])).append('"');
    }
    if (extraName != null) {
      sb.append(labels.length > 0 ? "," : "").append(extraName).append("=\"").append(extraValue).append('"');
    }
    sb.append('}');
  }

  static String escape(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  static String format(double v) {
    if (v == Math.rint(v) && !Double.isInfinite(v) && Math.abs(v) < 1e15) {
      return Long.toString((long) v);
    }
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return Double.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
    }
    return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString(); // 0.0005, not 5.0E-4
  }

  @Override
  public String toString() {
    return sb.toString();
  }
}
