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
}
