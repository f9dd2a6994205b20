package dev.keystone.config;

import dev.keystone.model.PassiveHealth;

import java.time.Duration;

/** Reads {@code passive_health} into the model's {@link PassiveHealth}. */
final class PassiveHealthBinder {

  private PassiveHealthBinder() {
  }

  static PassiveHealth passiveHealth(Section s) {
    if (s == null) {
      return PassiveHealth.DEFAULTS;
    }
    long failures = s.integer("consecutive_failures", PassiveHealth.DEFAULTS.consecutiveFailures());
    if (failures < 0 || failures > 1000) {
      s.problems().add(s.keyPath("consecutive_failures"), "must be between 0 (off) and 1000");
      failures = PassiveHealth.DEFAULTS.consecutiveFailures();
    }
    Duration ejection = s.duration("ejection", PassiveHealth.DEFAULTS.ejection());
    if (ejection.toMillis() < 1 || ejection.compareTo(PassiveHealth.MAX_EJECTION) > 0) {
      s.problems().add(s.keyPath("ejection"), "must be between 1ms and 5m");
      ejection = PassiveHealth.DEFAULTS.ejection();
    }
    s.finish();
    return new PassiveHealth((int) failures, ejection);
  }
}
