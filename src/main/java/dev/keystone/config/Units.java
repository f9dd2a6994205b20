package dev.keystone.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the human units used in the config: durations ("1.5s", "250ms", "10") and sizes ("8KiB"). */
public final class Units {

  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)?");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?");

  private Units() {
  }

  /** A duration; a bare number means seconds, as {@code health_interval: 10} always did. */
  public static Duration duration(String text) {
    Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("expected a duration like 10s, 250ms, 2m, 1h, 365d or a number of seconds, got '" + text + "'");
    }
    double value = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    double millis = switch (unit) {
      case "ms" -> value;
      case "s" -> value * 1000;
      case "m" -> value * 60_000;
      case "h" -> value * 3_600_000;
      default -> value * 86_400_000; // d: days (hsts: 365d)
    };
    return Duration.ofMillis(Math.round(millis));
  }

  /** A size in bytes; units are binary (1 KB = 1 KiB = 1024 bytes), as in nginx. */
  static long size(String text) {
    Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("expected a size like 8192, 16KiB, 10MB or 1GiB, got '" + text + "'");
    }
    long value = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2);
    long factor = switch (unit.charAt(0)) {
      case 'k' -> 1024L;
      case 'm' -> 1024L * 1024;
      case 'g' -> 1024L * 1024 * 1024;
      default -> 1L;
    };
    return Math.multiplyExact(value, factor);
  }
}
