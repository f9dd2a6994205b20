package dev.keystone.model;

import java.time.Duration;

/**
 * {@code passive_health}: outlier detection from real traffic, as nginx's {@code max_fails} or
 * Envoy's consecutive-5xx ejection. A backend whose requests fail {@code consecutiveFailures}
 * times in a row (5xx answers, timeouts, broken connections) gets no new requests for
 * {@code ejection}, longer for each ejection in a row; one that refuses connections is ejected
 * at the first refusal, and a passing active check ends that kind of ejection early.
 *
 * @param consecutiveFailures failures in a row that eject a backend; 0 turns passive ejection off
 * @param ejection            how long the first ejection lasts; the n-th in a row lasts n times
 *                            as long, at most {@link #MAX_EJECTION}
 */
public record PassiveHealth(int consecutiveFailures, Duration ejection) {

  public static final PassiveHealth DEFAULTS = new PassiveHealth(5, Duration.ofSeconds(30));
  public static final Duration MAX_EJECTION = Duration.ofMinutes(5);

  public boolean enabled() {
    return consecutiveFailures > 0;
  }
}
