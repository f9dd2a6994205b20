package dev.keystone.script;

import org.junit.jupiter.api.Test;

import java.time.Clock;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tenant caps are overcommitted against the process's bound; the last quarter of it is kept for
 * tenants that hold little, so two full tenants can't lock every other one out (attack on
 * issue 13, F4: two kv stores at their caps made every other tenant's kv.set fail).
 */
class SharedMemoryTest {

  @Test
  void twoFullStoresLeaveATenantWithLittleItsFloor() {
    SharedMemory process = new SharedMemory("kv", 400_000, 20_000);
    KeyValueStore.Limits limits = new KeyValueStore.Limits(10_000, 256, 64 * 1024, 200_000);
    KeyValueStore a = new KeyValueStore("a", limits, Clock.systemUTC(), process);
    KeyValueStore b = new KeyValueStore("b", limits, Clock.systemUTC(), process);
    KeyValueStore nice = new KeyValueStore("nice", limits, Clock.systemUTC(), process);
    String value = "v".repeat(4_000);
    assertThat(fill(a, value)).isEqualTo(24); // its own cap: 200,000 bytes
    assertThat(fill(b, value)).isEqualTo(12); // the rest of the unreserved three quarters
    assertThat(process.used()).isLessThanOrEqualTo(300_000); // the reserve is untouched
    nice.incr("rate", 1, 0);
    nice.set("flag", "on", 0);
    assertThat(nice.get("flag")).isEqualTo("on");
    // Its floor, not more: past it, nice is as full as the others.
    assertThat(fill(nice, value)).isEqualTo(2);
    assertThat(nice.bytes()).isBetween(12_000L, 20_000L);
  }

  @Test
  void theProcessBoundHoldsWhateverTheTenantsDo() {
    SharedMemory process = new SharedMemory("x", 1_000, 100);
    assertThat(process.take(0, 750)).isTrue();
    assertThat(process.take(750, 1)).as("past the floor, only the first three quarters").isFalse();
    assertThat(process.take(0, 100)).as("a tenant within its floor draws on the reserve").isTrue();
    assertThat(process.take(0, 150)).as("more than the floor is not from the reserve").isFalse();
    assertThat(process.take(0, 100)).isTrue();
    assertThat(process.take(0, 100)).isFalse();
    assertThat(process.used()).isEqualTo(950);
    process.give(950);
    assertThat(process.used()).isZero();
  }

  /** Sets keys until the store refuses; how many it took. */
  private static int fill(KeyValueStore store, String value) {
    for (int i = 0; ; i++) {
      try {
        store.set("k" + i, value, 0);
      } catch (IllegalArgumentException full) {
        assertThat(full).hasMessageContaining("is full");
        return i;
      }
    }
  }
}
