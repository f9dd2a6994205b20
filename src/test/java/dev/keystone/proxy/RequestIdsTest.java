package dev.keystone.proxy;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** A generated request id: 32 lower-case hex digits, 128 random bits. */
class RequestIdsTest {

  @Test
  void generatedIdsAre32HexDigitsAndDiffer() {
    Set<String> seen = new HashSet<>();
    int[] digits = new int[16];
    for (int i = 0; i < 10_000; i++) {
      String id = RequestIds.generate();
      assertThat(id).matches("[0-9a-f]{32}");
      seen.add(id);
      for (char c : id.toCharArray()) {
        digits[Character.digit(c, 16)]++;
      }
    }
    assertThat(seen).hasSize(10_000);
    // 320,000 digits: each of the 16 about 20,000 times (a stuck nibble would leave one at 0)
    for (int d = 0; d < 16; d++) {
      assertThat(digits[d]).as("digit " + Integer.toHexString(d)).isBetween(18_000, 22_000);
    }
  }
}
