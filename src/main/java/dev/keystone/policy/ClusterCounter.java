package dev.keystone.policy;

import dev.keystone.model.RateLimitRule;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One key's share of a cluster-wide limit on this instance: requests are taken from a batch
 * reserved in the state store, and only an empty batch costs a round trip (one at a time: the
 * requests that arrive meanwhile wait for it). A store that granted nothing is not asked again
 * until the window ends (or, sliding and bucket, until a request may fit). A store that fails:
 * the rule's fallback, a count on this instance ({@code local}) or a refusal ({@code deny}).
 */
final class ClusterCounter {

  private final LocalCounter fallback = new LocalCounter();
  private long windowStart = Long.MIN_VALUE;
  private long tokens; // reserved in the store for windowStart, not used yet
  private long used; // the store's count for the window at the last reservation
  private long exhaustedUntil;
  /** Token bucket: when the tokens held here stop being usable (0: not set). */
  private long tokensExpireAt;
  private boolean fetching;
  private final ArrayDeque<Promise<LimitDecision>> waiters = new ArrayDeque<>();
  private volatile long lastUsed;

  long lastUsed() {
    return lastUsed;
  }

  /** The rule's answer without the store: counted on this instance, or refused if it fails closed. */
  LimitDecision fallback(RateLimitRule rule, long now) {
    return rule.failClosed() ? LimitDecision.storeDown(rule) : fallback.take(rule, now);
  }

  static long windowStart(RateLimitRule rule, long now) {
    if (rule.algorithm() == RateLimitRule.Algorithm.TOKEN_BUCKET) {
      return 0; // one bucket, refilled continuously
    }
    long window = rule.window().toMillis();
    return now - Math.floorMod(now, window);
  }

  /** An answer from the batch (or a known exhaustion), or null when the store must be asked. */
  synchronized LimitDecision tryTake(RateLimitRule rule, long now) {
    lastUsed = now;
    long start = windowStart(rule, now);
    if (start != windowStart) {
      windowStart = start; // what was reserved for the last window was counted there
      tokens = 0;
      exhaustedUntil = 0;
    }
    long reset = resetMillis(rule, now);
    if (tokens > 0 && tokensExpireAt > 0 && now >= tokensExpireAt) {
      // a bucket's tokens held here too long: the store has refilled meanwhile, and spending them
      // now on top would let a burst past the limit (attack s18-policy F3)
      tokens = 0;
    }
    if (tokens > 0) {
      tokens--;
      return LimitDecision.allowed(rule, rule.limit() - used + tokens, reset);
    }
    if (now < exhaustedUntil) {
      return LimitDecision.limited(rule, reset, exhaustedUntil - now);
    }
    return null;
  }

  private static long resetMillis(RateLimitRule rule, long now) {
    long window = rule.window().toMillis();
    return rule.algorithm() == RateLimitRule.Algorithm.TOKEN_BUCKET ? window : window - Math.floorMod(now, window);
  }

  /**
   * Whether to reserve the next batch now, before this one runs out (a quarter of it left), so
   * that requests seldom wait for the store; the requests that find it empty still wait.
   */
  synchronized boolean wantsRefill(RateLimitRule rule) {
    return !fetching && rule.batch() >= 4 && tokens > 0 && tokens <= rule.batch() / 4 && exhaustedUntil == 0;
  }

  /** Reserves the next batch in the background (no request waits for it). */
  void refill(RateLimitRule rule, String counter, SharedCounters store, Clock clock) {
    synchronized (this) {
      if (fetching) {
        return;
      }
      fetching = true;
    }
    fetch(rule, counter, store, clock);
  }

  /** Asks the store (or joins the request already asking); completes on the store client's thread. */
  Future<LimitDecision> ask(RateLimitRule rule, String counter, SharedCounters store, Clock clock) {
    Promise<LimitDecision> p = Promise.promise();
    boolean start;
    synchronized (this) {
      waiters.add(p);
      start = !fetching;
      fetching = true;
    }
    if (start) {
      fetch(rule, counter, store, clock);
    }
    return p.future();
  }

  private void fetch(RateLimitRule rule, String counter, SharedCounters store, Clock clock) {
    long now = clock.millis();
    long start = windowStart(rule, now);
    long want;
    synchronized (this) {
      want = Math.min(rule.limit(), Math.max(rule.batch(), waiters.size()));
    }
    store.reserve(counter, rule, start, want, now).onComplete(ar -> {
      List<Promise<LimitDecision>> ready = new ArrayList<>();
      List<LimitDecision> answers = new ArrayList<>();
      boolean again;
      long t = clock.millis();
      synchronized (this) {
        if (ar.failed()) {
          while (!waiters.isEmpty()) {
            ready.add(waiters.poll());
            answers.add(rule.failClosed() ? LimitDecision.storeDown(rule) : fallback.take(rule, t));
          }
          fetching = false;
          again = false;
        } else {
          // what a store answers is bounded here: a broken or hostile one (a negative grant, more
          // than asked) must neither loop nor admit everything (attack s18-policy F8)
          long granted = Math.max(0, Math.min(want, ar.result().granted()));
          if (windowStart(rule, t) == start && windowStart == start) {
            tokens += granted;
            if (rule.algorithm() == RateLimitRule.Algorithm.TOKEN_BUCKET && granted > 0) {
              // usable for as long as the bucket takes to refill one token: past that, the store
              // has given the tokens back to the cluster
              tokensExpireAt = t + Math.max(1, rule.window().toMillis() / rule.limit());
            }
            used = ar.result().used();
            if (granted == 0) {
              exhaustedUntil = t + retryMillis(rule, t);
            }
          }
          while (!waiters.isEmpty()) {
            LimitDecision d = tryTake(rule, t);
            if (d == null) {
              break;
            }
            ready.add(waiters.poll());
            answers.add(d);
          }
          again = !waiters.isEmpty();
          fetching = again;
        }
      }
      for (int i = 0; i < ready.size(); i++) {
        ready.get(i).complete(answers.get(i)); // outside the lock: completing runs the request on
      }
      if (again) {
        fetch(rule, counter, store, clock);
      }
    });
  }

  /** How long an exhausted key is refused without asking the store again. */
  private static long retryMillis(RateLimitRule rule, long now) {
    long window = rule.window().toMillis();
    return switch (rule.algorithm()) {
      case FIXED_WINDOW -> window - Math.floorMod(now, window);
      case SLIDING_WINDOW -> Math.min(window - Math.floorMod(now, window), Math.max(100, window / 20));
      case TOKEN_BUCKET -> Math.max(10, (long) Math.ceil((double) window / rule.limit()));
    };
  }
}
