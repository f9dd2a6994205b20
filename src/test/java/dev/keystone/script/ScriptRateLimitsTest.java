package dev.keystone.script;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

/** The bounds of scripts' rate_limit counts. */
class ScriptRateLimitsTest {

  final Clock clock = Clock.fixed(Instant.parse("2026-12-07T10:00:10Z"), ZoneOffset.UTC);

  /** Attack s18-policy F1: one tenant's unique keys filled the process, and another tenant's sixth user got 429. */
  @Test
  void oneTenantsKeysDoNotLockOutAnothersUsers() {
    ScriptRateLimits limits = new ScriptRateLimits(clock);
    for (int i = 0; i < ScriptRateLimits.MAX_KEYS + 10; i++) {
      limits.take("s1", "user-" + i, 5, 86_400_000);
    }
    for (String user : new String[] {"alice", "bob", "carol", "dave", "erin", "frank", "gina"}) {
      assertThat(limits.take("s2", user, 5, 86_400_000).allowed()).as(user).isTrue();
    }
  }

  /** Attack s18-policy F9: a long key was kept as a 64-bit hash that a given key could stand for. */
  @Test
  void aGivenKeyNeverSharesALongKeysCount() {
    ScriptRateLimits limits = new ScriptRateLimits(clock);
    String longKey = "x".repeat(200);
    assertThat(limits.take("t", longKey, 1, 60_000).allowed()).isTrue();
    assertThat(limits.take("t", longKey, 1, 60_000).allowed()).isFalse();
    String lookalike = "#" + Fnv1a.of(longKey) + ":" + longKey.hashCode();
    assertThat(limits.take("t", lookalike, 1, 60_000).allowed()).isTrue();
  }
}
