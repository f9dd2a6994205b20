package dev.keystone.app;

import java.time.Instant;

/**
 * ISO-8601 UTC timestamps with milliseconds ({@code 2026-11-30T01:02:03.456Z}) for log lines,
 * formatting the date and time part once per second instead of once per line.
 */
final class Timestamps {

  private record Cached(long second, String prefix) {
  }

  private static volatile Cached cached = new Cached(Long.MIN_VALUE, "");

  private Timestamps() {
  }

  static String format(long epochMillis) {
    StringBuilder sb = new StringBuilder(24);
    appendTo(sb, epochMillis);
    return sb.toString();
  }

  static void appendTo(StringBuilder sb, long epochMillis) {
    long second = Math.floorDiv(epochMillis, 1000);
    int millis = (int) Math.floorMod(epochMillis, 1000);
    Cached c = cached;
    if (c.second != second) {
      String s = Instant.ofEpochSecond(second).toString(); // 2026-11-30T01:02:03Z
      c = new Cached(second, s.substring(0, s.length() - 1) + ".");
      cached = c;
    }
    sb.append(c.prefix).append((char) ('0' + millis / 100)).append((char) ('0' + millis / 10 % 10))
        .append((char) ('0' + millis % 10)).append('Z');
  }
}
