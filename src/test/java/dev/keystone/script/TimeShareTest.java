package dev.keystone.script;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** A tenant's share of script time: a bucket of one second's worth, refilled continuously. */
class TimeShareTest {

  static final long MS = 1_000_000;

  @Test
  void aTenantThatSpentItsShareWaitsForItToRefill() {
    AtomicLong now = new AtomicLong(0);
    TimeShare share = new TimeShare(100 * MS, now::get); // 100 ms a second
    assertThat(share.available()).isTrue();
    share.spend(60 * MS);
    assertThat(share.available()).as("40 ms left").isTrue();
    share.spend(90 * MS); // a call may overrun what is left (its own deadline bounds it)
    assertThat(share.available()).as("-50 ms").isFalse();
    now.addAndGet(400 * MS); // +40 ms
    assertThat(share.available()).as("-10 ms").isFalse();
    now.addAndGet(200 * MS); // +20 ms
    assertThat(share.available()).as("+10 ms").isTrue();
  }

  @Test
  void theBurstIsOneSecondsWorth() {
    AtomicLong now = new AtomicLong(0);
    TimeShare share = new TimeShare(100 * MS, now::get);
    now.addAndGet(3_600_000 * MS); // an idle hour does not pile up
    share.spend(100 * MS);
    assertThat(share.available()).isFalse();
  }

  /**
   * Attack round 3 on issue 13, F9: four tenants each within their 500 ms a second filled both
   * event loops. The process's share stops the heavy ones; a light tenant goes on.
   */
  @Test
  void whenTheProcessShareIsSpentOnlyHeavyTenantsWait() {
    AtomicLong now = new AtomicLong(0);
    TimeShare process = new TimeShare(1000 * MS, now::get);
    TimeShare[] heavy = new TimeShare[4];
    for (int i = 0; i < heavy.length; i++) {
      heavy[i] = new TimeShare(500 * MS, now::get, process);
    }
    TimeShare light = new TimeShare(500 * MS, now::get, process);
    for (TimeShare h : heavy) {
      h.spend(300 * MS); // 1,200 ms in all: the process's second is spent
    }
    for (TimeShare h : heavy) {
      assertThat(h.available()).as("200 ms of its own left, but it used more than half").isFalse();
    }
    assertThat(light.available()).as("a tenant that used little goes on").isTrue();
    light.spend(100 * MS);
    assertThat(light.available()).isTrue();
    now.addAndGet(500 * MS); // the process's share refills by 500 ms (to +200)
    assertThat(heavy[0].available()).isTrue();
  }
}
