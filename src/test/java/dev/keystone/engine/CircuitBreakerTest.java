package dev.keystone.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The circuit per engine and per tenant, on a clock and random draws the test sets. */
class CircuitBreakerTest {

  static final long MS = 1_000_000;

  @Test
  void opensAfterTheThresholdAndLetsOneTrialThroughWhenItsTimeIsUp() {
    CircuitBreaker b = new CircuitBreaker(5, 2000, () -> 0.5);
    for (int i = 0; i < 5; i++) {
      assertThat(b.allow(0)).isTrue();
      b.failure(0);
    }
    assertThat(b.allow(1_999 * MS)).isFalse();
    assertThat(b.allow(2_000 * MS)).as("the trial").isTrue();
    assertThat(b.allow(2_000 * MS)).as("one trial at a time").isFalse();
    b.success();
    assertThat(b.open()).isFalse();
    assertThat(b.allow(2_001 * MS)).isTrue();
  }

  /**
   * Tenants whose circuits opened at the same moment (twenty hostile tenants rebuilding big
   * isolates, attack round 5 on the Node engine, N5-1) all sent their trials at the same moment
   * too, every 2 s, and their calls together held the engine's thread for seconds. The time a
   * circuit stays open is drawn from half to one and a half times {@code openMillis}.
   */
  @Test
  void circuitsOpenedTogetherLetTheirTrialsThroughAtDifferentTimes() {
    CircuitBreaker early = new CircuitBreaker(1, 2000, () -> 0.0);
    CircuitBreaker late = new CircuitBreaker(1, 2000, () -> 0.999);
    early.failure(0);
    late.failure(0);
    assertThat(early.allow(999 * MS)).isFalse();
    assertThat(early.allow(1_000 * MS)).as("half of 2 s").isTrue();
    assertThat(late.allow(2_997 * MS)).isFalse();
    assertThat(late.allow(2_998 * MS)).as("about one and a half times 2 s").isTrue();
  }
}
