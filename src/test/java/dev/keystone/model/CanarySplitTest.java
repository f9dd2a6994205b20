package dev.keystone.model;

import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.keystone.model.RoundRobinTest.backend;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A pool with a canary share: buckets below the share go to the canary, the rest round-robin over
 * the others; a retry after the canary failed and a canary that is down go to the others; with no
 * healthy other backend the canary takes everything rather than a fallback onto one that is down.
 */
class CanarySplitTest {

  final Backend a = backend("a", 1, true);
  final Backend b = backend("b", 1, true);
  final Backend canary = backend("canary", 1, true);
  final TrafficSplit split = new TrafficSplit();
  final Pool pool = new Pool(List.of(a, b, canary), new RoundRobin(List.of(a, b, canary)), split);

  private String pick(Backend exclude, int bucket) {
    Pool.Pick p = pool.pick(exclude, bucket);
    return p == null ? null : p.backend().name() + (p.fallback() ? "!" : "");
  }

  @Test
  void bucketsBelowTheShareGoToTheCanaryTheRestToTheOthersInTurn() {
    split.set(new TrafficSplit.Share("canary", 2500, null, null));
    assertThat(pick(null, 0)).isEqualTo("canary");
    assertThat(pick(null, 2499)).isEqualTo("canary");
    assertThat(List.of(pick(null, 2500), pick(null, 9999), pick(null, 5000))).containsExactly("a", "b", "a");
    split.clear();
    assertThat(List.of(pick(null, 0), pick(null, 0), pick(null, 0))).containsExactly("a", "b", "canary"); // the plain pool again, its own turn
  }

  @Test
  void aRetryAfterTheCanaryAndACanaryThatIsDownGoToTheOthers() {
    split.set(new TrafficSplit.Share("canary", TrafficSplit.ALL, null, null));
    assertThat(pick(canary, 0)).isEqualTo("a");
    canary.health().record(false, "down", java.time.Instant.EPOCH);
    assertThat(pick(null, 0)).isEqualTo("b");
  }

  @Test
  void withTheOthersDownTheCanaryTakesEverything() {
    split.set(new TrafficSplit.Share("canary", 100, null, null));
    a.health().record(false, "down", java.time.Instant.EPOCH);
    b.health().record(false, "down", java.time.Instant.EPOCH);
    assertThat(pick(null, 9999)).isEqualTo("canary");
    assertThat(pick(canary, 9999)).isEqualTo("a!"); // (a retry: the fallback, not the canary again)
  }

  @Test
  void aPinnedValueAlwaysFallsInTheSameBucket() {
    int bucket = TrafficSplit.bucket("user-42");
    assertThat(TrafficSplit.bucket("user-42")).isEqualTo(bucket);
    assertThat(bucket).isBetween(0, TrafficSplit.ALL - 1);
    assertThat(TrafficSplit.bucket("")).isEqualTo((int) ((0x811c9dc5L & 0x7fffffffL) % TrafficSplit.ALL));
    assertThat(TrafficSplit.bucket("user-42")).as("a script's hash(value) % 10000").isEqualTo(
        (int) (dev.keystone.script.Fnv1a.of("user-42") % TrafficSplit.ALL));
  }
}
