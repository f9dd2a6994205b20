package dev.keystone.policy;

import dev.keystone.model.RateLimitRule;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

/** The bounds of the rate-limit counts: a tenant that floods them with keys takes no other tenant's room. */
class RateLimitersTest {

  final Clock clock = Clock.fixed(Instant.parse("2026-12-07T10:00:10Z"), ZoneOffset.UTC);

  static RateLimitRule rule(long limit) {
    return new RateLimitRule(RateLimitRule.Key.HEADER, "X-User", limit, Duration.ofHours(1),
        RateLimitRule.Algorithm.FIXED_WINDOW, false, false, 1);
  }

  /** Attack s18-policy F2: one tenant's keys filled the process and the others' new clients shared one count. */
  @Test
  void aTenantThatFillsTheProcessLeavesOthersTheirGuaranteedKeys() {
    RateLimiters r = new RateLimiters(clock, 1000, 2000, 100);
    for (int rule = 0; rule < 3; rule++) {
      for (int i = 0; i < 1000; i++) {
        r.check("hog", rule(1000 + rule), "h:" + i);
      }
    }
    assertThat(r.keys()).isEqualTo(2001); // the process is full (one overflow count past it)
    RateLimitRule victim = rule(1);
    for (int client = 0; client < 50; client++) {
      assertThat(r.check("victim", victim, "ip:" + client).allowed()).as("client " + client + " counted on its own").isTrue();
    }
    // the hog's next new keys share its overflow count: it limits itself, not the others
    RateLimitRule hog = rule(1000);
    assertThat(r.check("hog", hog, "h:new-1").allowed()).isTrue();
  }
}
