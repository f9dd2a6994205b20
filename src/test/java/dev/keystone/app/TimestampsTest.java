package dev.keystone.app;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class TimestampsTest {

  @Test
  void matchesInstantWithMillis() {
    for (long t : new long[] {0L, 1_764_464_523_456L, 1_764_464_523_007L, 1_764_464_524_000L, 1_764_464_523_999L}) {
      String expected = Instant.ofEpochMilli(t).toString();
      if (t % 1000 == 0) {
        expected = expected.replace("Z", ".000Z");
      }
      assertThat(Timestamps.format(t)).isEqualTo(expected);
    }
  }
}
