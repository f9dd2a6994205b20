package dev.keystone.rollout;

import dev.keystone.config.Units;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A rollout as asked for over the admin API ({@code POST /api/v1/rollouts/TENANT}, also what
 * {@code keystone rollout start} sends): {@code canary} (required), {@code steps} (a list or
 * "5,25,50,100", the default), {@code interval} ("2m", the default), {@code max_5xx} (a percentage:
 * "1%" or 1, the default), {@code max_p99} ("300ms"; none by default), {@code min_requests} (20),
 * {@code pin_header} or {@code pin_cookie}. A malformed field is an IllegalArgumentException naming it.
 */
public final class RolloutRequest {

  public static final String DEFAULT_STEPS = "5,25,50,100";

  private RolloutRequest() {
  }

  public static RolloutPlan parse(String tenant, JsonObject body) {
    Object canary = body.getValue("canary");
    if (!(canary instanceof String c) || c.isEmpty()) {
      throw new IllegalArgumentException("canary: required, the name of one of the tenant's backends");
    }
    List<Integer> steps = steps(body.getValue("steps", DEFAULT_STEPS));
    Duration interval = duration("interval", body.getValue("interval", "2m"));
    double maxErrors = percent(body.getValue("max_5xx", "1%"));
    Object p99 = body.getValue("max_p99");
    Duration maxP99 = p99 == null ? null : duration("max_p99", p99);
    if (maxP99 != null && maxP99.compareTo(MAX_P99) >= 0) {
      // The latency histogram's last bound: a p99 above it reads as 10 s, so a limit there never breaches (s16b F7).
      throw new IllegalArgumentException("max_p99: below 10s (the latency histogram's last bound)");
    }
    Object min = body.getValue("min_requests", 20);
    if (!(min instanceof Integer || min instanceof Long) || ((Number) min).longValue() < 1
        || ((Number) min).longValue() > 1_000_000) { // (checked as a long: 4294967316 wrapped to 20, s16b F6)
      throw new IllegalArgumentException("min_requests: a whole number between 1 and 1000000");
    }
    return new RolloutPlan(tenant, c, steps, interval, maxErrors, maxP99, ((Number) min).intValue(),
        text(body, "pin_header"), text(body, "pin_cookie"));
  }

  private static List<Integer> steps(Object v) {
    List<Integer> out = new ArrayList<>();
    try {
      if (v instanceof JsonArray a) {
        for (Object o : a) {
          if (!(o instanceof Integer i)) { // (null was a NullPointerException, a 500: attack s16b F5)
            throw new IllegalArgumentException();
          }
          out.add(i);
        }
      } else if (v instanceof String s) {
        for (String part : s.split(",")) {
          if (!part.trim().matches("[0-9]{1,3}")) { // (ASCII digits: parseInt takes any script's)
            throw new IllegalArgumentException();
          }
          out.add(Integer.parseInt(part.trim()));
        }
      } else {
        throw new IllegalArgumentException();
      }
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("steps: percentages, as a list or \"5,25,50,100\"");
    }
    return out;
  }

  private static Duration duration(String field, Object v) {
    try {
      return v instanceof Number n ? Duration.ofMillis(Math.round(n.doubleValue() * 1000)) : Units.duration((String) v);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(field + ": a duration like 30s, 2m or 300ms");
    }
  }

  /** The largest max_p99 (exclusive): the last bound of the latency histogram the p99 comes from. */
  static final Duration MAX_P99 = Duration.ofSeconds(10);

  /** "1%", "0.5%" or a number of percent, as a share (0.01). */
  private static double percent(Object v) {
    try {
      String text = v instanceof String s ? s.trim().replaceFirst("%$", "").trim() : null;
      if (text != null && !text.matches("[0-9]{1,3}(\\.[0-9]{1,6})?")) { // (Java also reads "5d" and "0x10p0")
        throw new IllegalArgumentException();
      }
      double p = v instanceof Number n ? n.doubleValue() : Double.parseDouble(text);
      if (!(p >= 0 && p <= 100)) {
        throw new IllegalArgumentException();
      }
      return p / 100;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("max_5xx: a percentage between 0% and 100%, like 1% or 0.5%");
    }
  }

  private static String text(JsonObject body, String field) {
    Object v = body.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s) || s.isBlank()
        || !s.chars().allMatch(ch -> ch > 32 && ch < 127 && ch != ';' && ch != ',' && ch != '=')) {
      throw new IllegalArgumentException(field + ": a header or cookie name");
    }
    return s;
  }
}
