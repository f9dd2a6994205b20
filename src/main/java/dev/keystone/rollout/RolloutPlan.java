package dev.keystone.rollout;

import java.time.Duration;
import java.util.List;

/**
 * What an operator (or CI) asks of a rollout: move tenant {@code tenant}'s traffic onto its
 * backend {@code canary} in {@code steps} (percentages, rising, ending at 100), judging each step
 * after {@code interval} on the canary's live figures, and roll back at once when they breach a
 * limit.
 *
 * @param maxErrorRate the largest share of the canary's answers that may be 5xx (0.01 = 1 %)
 * @param maxP99       the slowest the canary's 99th percentile of response-head latency may be, or null
 * @param minRequests  the fewest canary requests a step is judged on (fewer: the step waits)
 * @param pinHeader    a request header whose value keeps a user on one side of the split, or null
 * @param pinCookie    a cookie doing the same, or null (at most one of the two)
 */
public record RolloutPlan(String tenant, String canary, List<Integer> steps, Duration interval, double maxErrorRate,
                          Duration maxP99, int minRequests, String pinHeader, String pinCookie) {

  public RolloutPlan {
    steps = List.copyOf(steps);
    List<String> problems = problems(tenant, canary, steps, interval, maxErrorRate, maxP99, minRequests, pinHeader, pinCookie);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
  }

  private static List<String> problems(String tenant, String canary, List<Integer> steps, Duration interval,
                                       double maxErrorRate, Duration maxP99, int minRequests, String pinHeader,
                                       String pinCookie) {
    List<String> out = new java.util.ArrayList<>();
    if (tenant == null || tenant.isEmpty()) {
      out.add("tenant: required");
    }
    if (canary == null || canary.isEmpty()) {
      out.add("canary: required, the name of one of the tenant's backends");
    }
    if (steps.isEmpty() || steps.get(steps.size() - 1) != 100) {
      out.add("steps: percentages that rise and end at 100, e.g. 5,25,50,100");
    }
    for (int i = 0; i < steps.size(); i++) {
      int s = steps.get(i);
      if (s < 1 || s > 100 || (i > 0 && s <= steps.get(i - 1))) {
        out.add("steps: each between 1 and 100 and above the one before, got " + steps);
        break;
      }
    }
    if (interval == null || interval.compareTo(Duration.ofSeconds(1)) < 0 || interval.compareTo(Duration.ofDays(1)) > 0) {
      out.add("interval: between 1s and 24h");
    }
    if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) {
      out.add("max_5xx: a share between 0% and 100%");
    }
    if (maxP99 != null && (maxP99.isNegative() || maxP99.isZero())) {
      out.add("max_p99: a positive duration");
    }
    if (minRequests < 1 || minRequests > 1_000_000) {
      out.add("min_requests: between 1 and 1000000");
    }
    if (pinHeader != null && pinCookie != null) {
      out.add("pin: a header or a cookie, not both");
    }
    return out;
  }
}
