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
    light.spend(20 * MS);
    assertThat(light.available()).as("20 ms lately and its last call: under its fair part").isTrue();
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

  /**
   * Attack on the Node engine, round 2 (N2-7), the same rule here: eight tenants each spending
   * about 60 ms a second, under a quarter of their own share, counted as light and kept the
   * process share in debt, so a really light tenant was refused most of the time. Held to the
   * average recent use of the active tenants instead, the light one always goes on. Failing first
   * (the light tenant was refused 51 times of 60).
   */
  @Test
  void manyModerateTenantsDoNotStarveALightOne() {
    AtomicLong now = new AtomicLong(0);
    TimeShare process = new TimeShare(500 * MS, now::get);
    java.util.List<TimeShare> all = new java.util.ArrayList<>();
    java.util.function.DoubleSupplier fair = () -> TimeShare.fairPart(500 * MS, all);
    TimeShare[] moderate = new TimeShare[8];
    for (int i = 0; i < moderate.length; i++) {
      moderate[i] = new TimeShare(500 * MS, now::get, process, fair);
      all.add(moderate[i]);
    }
    TimeShare light = new TimeShare(500 * MS, now::get, process, fair);
    all.add(light);
    int lightRefused = 0;
    long moderateRan = 0;
    for (int step = 0; step < 600; step++) { // 6 s in steps of 10 ms
      for (TimeShare m : moderate) {
        if (m.available()) {
          m.spend(2 * MS);
          if (step >= 200) {
            moderateRan += 2 * MS;
          }
        }
      }
      if (step % 10 == 0) {
        if (light.available()) {
          light.spend(MS);
        } else {
          lightRefused++;
        }
      }
      now.addAndGet(10 * MS);
    }
    assertThat(lightRefused).as("the light tenant is never refused").isZero();
    assertThat(moderateRan / 4).as("the moderate tenants together, a second: about the process share")
        .isBetween(400 * MS, 520 * MS);
  }

  /**
   * Attack on the Node engine, round 3 (N3-1), the same rule here: calls that overran their
   * deadline by far (250 ms each) put the process share seconds in debt, and while it was more
   * than a second in debt every tenant was refused, the light one too. Failing first.
   */
  @Test
  void callsThatOverranByFarDoNotKeepLightTenantsOut() {
    AtomicLong now = new AtomicLong(0);
    TimeShare process = TimeShare.process(500 * MS, now::get);
    java.util.List<TimeShare> all = new java.util.ArrayList<>();
    java.util.function.DoubleSupplier fair = () -> TimeShare.fairPart(500 * MS, all);
    TimeShare[] hogs = new TimeShare[3];
    for (int i = 0; i < hogs.length; i++) {
      hogs[i] = new TimeShare(500 * MS, now::get, process, fair);
      all.add(hogs[i]);
    }
    TimeShare light = new TimeShare(500 * MS, now::get, process, fair);
    all.add(light);
    int lightRefused = 0;
    long hogRan = 0;
    for (int step = 0; step < 1000; step++) { // 10 s in steps of 10 ms
      for (TimeShare h : hogs) {
        if (h.available()) {
          h.spend(250 * MS);
          hogRan += 250 * MS;
        }
      }
      if (step % 10 == 0) {
        if (light.available()) {
          light.spend(MS);
        } else {
          lightRefused++;
        }
      }
      now.addAndGet(10 * MS);
    }
    assertThat(lightRefused).as("the light tenant is never refused").isZero();
    assertThat(hogRan).as("the hogs together: about the process share").isLessThanOrEqualTo(6_500 * MS);
  }

  /**
   * Found by the conformance suite's log check on the Node engine (same rule here): after one
   * tenant's lump of a second put the process share in debt, twenty tenants that had each run a
   * 3 ms call counted as active, so the fair part was the share over 22 and a tenant calling next
   * ran 4 of its 40 calls of 10 ms. What light tenants leave unused is the others' (max-min
   * fairness). Failing first.
   */
  @Test
  void tenantsThatUsedALittleLatelyDoNotShrinkTheNextOnesPart() {
    AtomicLong now = new AtomicLong(0);
    TimeShare process = TimeShare.process(500 * MS, now::get);
    java.util.List<TimeShare> all = new java.util.ArrayList<>();
    java.util.function.DoubleSupplier fair = () -> TimeShare.fairPart(500 * MS, all);
    TimeShare lump = new TimeShare(500 * MS, now::get, process, fair);
    all.add(lump);
    lump.spend(1_000 * MS);
    for (int i = 0; i < 20; i++) {
      TimeShare small = new TimeShare(500 * MS, now::get, process, fair);
      all.add(small);
      small.spend(3 * MS);
    }
    now.addAndGet(100 * MS);
    TimeShare next = new TimeShare(500 * MS, now::get, process, fair);
    all.add(next);
    int ran = 0;
    for (int i = 0; i < 40; i++) {
      if (next.available()) {
        next.spend(10 * MS);
        ran++;
      }
      now.addAndGet(10 * MS);
    }
    assertThat(process.debt()).as("the process share was spent all along").isPositive();
    assertThat(ran).as("the calls of the tenant calling next that ran: about its part of what the lump left")
        .isBetween(15, 30);
    assertThat(lump.available()).as("the lump stays over its part").isFalse();
  }
}
