package dev.keystone.policy;

import dev.keystone.model.RateLimitRule;
import io.vertx.core.Future;

/**
 * Counters shared by the instances of a cluster (the state store): an instance reserves a batch
 * of requests at a time, so that most requests are counted without a round trip.
 */
public interface SharedCounters {

  /** What a reservation got: how many requests were granted, and how many the window has used in all. */
  record Grant(long granted, long used) {
  }

  /**
   * Reserves up to {@code want} requests of {@code rule} for {@code counter} (tenant, rule, key)
   * in the window that starts at {@code windowStart} (fixed and sliding windows; ignored by a token
   * bucket). Fails fast while the store is known to be down.
   */
  Future<Grant> reserve(String counter, RateLimitRule rule, long windowStart, long want, long now);
}
