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

  /**
   * Attack round 5 (R5-T3): tenants spending a little less than their own share refills never
   * drain their buckets below half, so the process's share was never looked at: four of them
   * took 1.6 s of script time a second where the process allows 1 s. Failing first (1,600 ms).
   */
  @Test
  void tenantsJustUnderTheirOwnShareTogetherStayWithinTheProcessShare() {
    AtomicLong now = new AtomicLong(0);
    TimeShare process = new TimeShare(1000 * MS, now::get);
    TimeShare[] tenants = new TimeShare[4];
    for (int i = 0; i < tenants.length; i++) {
      tenants[i] = new TimeShare(500 * MS, now::get, process);
    }
    long ran = 0;
    // 20 seconds in steps of 10 ms: each tenant makes a 4 ms call every 10 ms when allowed (400 ms a second).
    for (int step = 0; step < 2000; step++) {
      now.addAndGet(10 * MS);
      for (TimeShare t : tenants) {
        if (t.available()) {
          t.spend(4 * MS);
          ran += 4 * MS;
        }
      }
    }
    // The process allows 1 s a second (plus its one-second burst) whoever asks.
    assertThat(ran).isLessThanOrEqualTo(21_000 * MS);
    assertThat(ran).as("the time the process allows is used").isGreaterThanOrEqualTo(19_000 * MS);
  }
}
