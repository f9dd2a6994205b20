package dev.keystone.script;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tenant caps are overcommitted against the process's bound; each tenant's share of it stays
 * backed, so full tenants can't lock every other one out (attack on issue 13, F4: two kv stores
 * at their caps made every other tenant's kv.set fail; round 3, F8: ten drained a common reserve).
 */
class SharedMemoryTest {

  @Test
  void fullStoresLeaveEveryOtherTenantItsShare() {
    // Attack round 3, F8: ten tenants at their caps drained a reserve kept for all; now each
    // tenant's share stays backed, however many others fill up.
    SharedMemory process = new SharedMemory("kv", 400_000, 20_000);
    KeyValueStore.Limits limits = new KeyValueStore.Limits(10_000, 256, 64 * 1024, 200_000);
    List<KeyValueStore> hostile = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      hostile.add(new KeyValueStore("evil" + i, limits, Clock.systemUTC(), process));
    }
    KeyValueStore nice = new KeyValueStore("nice", limits, Clock.systemUTC(), process);
    String value = "v".repeat(4_000);
    int stored = 0;
    for (KeyValueStore evil : hostile) {
      stored += fill(evil, value);
    }
    assertThat(stored).as("the hostile tenants took what was not owed to others").isEqualTo(32);
    nice.incr("rate", 1, 0);
    nice.set("flag", "on", 0);
    assertThat(nice.get("flag")).isEqualTo("on");
    // Its share (400,000 / 2 / 11 = 18,181 bytes): two values of about 8 KB.
    assertThat(fill(nice, value)).isEqualTo(2);
  }

  @Test
  void theProcessBoundHoldsAndEachShareStaysBacked() {
    SharedMemory process = new SharedMemory("x", 1_000, 100);
    SharedMemory.Account a = process.account();
    SharedMemory.Account b = process.account();
    SharedMemory.Account c = process.account();
    assertThat(a.take(551)).as("past its share: not the others' shares, nor the last quarter").isFalse();
    assertThat(a.take(550)).isTrue();
    assertThat(b.take(100)).as("b's share is there").isTrue();
    assertThat(b.take(1)).as("past its share, b finds nothing free").isFalse();
    assertThat(c.take(100)).as("c's share is there").isTrue();
    SharedMemory.Account late = process.account(); // a tenant a reload added
    assertThat(late.take(100)).as("the last quarter backs a newcomer's share").isTrue();
    assertThat(process.used()).isEqualTo(850);
    a.give(550);
    assertThat(b.take(351)).as("a's share and the last quarter stay free").isFalse();
    assertThat(b.take(350)).isTrue();
    assertThat(a.take(100)).isTrue();
    b.give(450);
    c.give(100);
    a.give(100);
    late.give(100);
    assertThat(process.used()).isZero();
  }

  /**
   * Attack round 5 (R5-T4): accounts are made on first use; more newcomers than the last quarter
   * backs made shares nobody backed, and then a tenant holding nothing found its own share
   * taken. Failing first: b could not take its 100 bytes.
   */
  @Test
  void newcomersGetOnlyWhatIsBackedAndNeverTakeAnExistingShare() {
    SharedMemory process = new SharedMemory("x", 1_000, 100);
    SharedMemory.Account a = process.account();
    SharedMemory.Account b = process.account();
    assertThat(a.take(650)).isTrue(); // past its share: all but b's share and the last quarter
    assertThat(a.take(1)).isFalse();
    List<SharedMemory.Account> late = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      late.add(process.account()); // four tenants that first use the store now
    }
    // Six accounts: shares are min(100, 1000 / 2 / 6) = 83; the newcomers got what was backed.
    assertThat(b.take(83)).as("b's share stays backed").isTrue();
    assertThat(b.take(1)).isFalse();
    assertThat(late.get(0).take(83)).isTrue();
    assertThat(late.get(1).take(83)).isTrue();
    assertThat(late.get(2).take(50)).as("all that was left when it came").isTrue();
    assertThat(late.get(2).take(1)).isFalse();
    assertThat(late.get(3).take(51)).as("what the shrunk shares left").isTrue();
    assertThat(late.get(3).take(1)).isFalse();
    assertThat(process.used()).isEqualTo(1_000);
  }

  @Test
  void scriptsThatKeepALotLeaveAnOrdinaryScriptRoomToLoad() {
    // Attack round 3, F10: states each within max_state filled the process's bound, and then a
    // script keeping 713 KiB of API keys could not load at all.
    StateLedger ledger = new StateLedger(64L << 20, 4L << 20);
    Object keep = new Object();
    int loaded = 0;
    while (ledger.reserve(keep, "hog" + loaded, (15L << 20) / 2) != null) {
      loaded++; // each within max_state
    }
    assertThat(loaded).as("the hogs took all but the last quarter").isEqualTo(6);
    assertThat(ledger.reserve(keep, "apikeys", 713L << 10)).as("an ordinary script still loads").isNotNull();
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
