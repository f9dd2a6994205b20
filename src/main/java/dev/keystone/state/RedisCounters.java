package dev.keystone.state;

import dev.keystone.model.RateLimitRule;
import dev.keystone.policy.SharedCounters;
import io.vertx.core.Future;
import io.vertx.redis.client.Response;

import java.util.List;

/**
 * Cluster rate-limit counters in Redis: one Lua script per algorithm reserves up to the number of
 * requests an instance asks for, atomically, never past the limit (so the cluster as a whole
 * admits at most the limit; what an instance reserved and did not use when a window ends is the
 * under-admission {@code batch} bounds). Keys expire on their own after their window.
 */
public final class RedisCounters implements SharedCounters {

  /** KEYS[1] the window's count; ARGV limit, want, ttl ms. Returns {granted, used}. */
  static final String FIXED = """
      local used = tonumber(redis.call('GET', KEYS[1]) or '0')
      local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - used)
      if grant > 0 then used = redis.call('INCRBY', KEYS[1], grant) else grant = 0 end
      redis.call('PEXPIRE', KEYS[1], ARGV[3])
      return {grant, used}
      """;

  /**
   * KEYS[1] this window's count, KEYS[2] the previous one's; ARGV limit, want, ttl ms, the
   * previous window's weight in millionths. Returns {granted, used (weighted)}.
   */
  static final String SLIDING = """
      local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
      local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
      local weighted = math.ceil(prev * tonumber(ARGV[4]) / 1000000)
      local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - weighted - cur)
      if grant > 0 then cur = redis.call('INCRBY', KEYS[1], grant) else grant = 0 end
      redis.call('PEXPIRE', KEYS[1], ARGV[3])
      return {grant, cur + weighted}
      """;

  /**
   * KEYS[1] the bucket (tokens in thousandths, refill time in ms by Redis's clock, so that every
   * instance's clock agrees); ARGV capacity, want, window ms. Returns {granted, used}.
   */
  static final String BUCKET = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local cap = tonumber(ARGV[1]) * 1000
      local window = tonumber(ARGV[3])
      local h = redis.call('HMGET', KEYS[1], 'milli', 'at')
      local milli = tonumber(h[1]) or cap
      local at = tonumber(h[2]) or now
      if now > at then milli = math.min(cap, milli + math.floor((now - at) * cap / window)) end
      local grant = math.min(tonumber(ARGV[2]), math.floor(milli / 1000))
      if grant < 0 then grant = 0 end
      milli = milli - grant * 1000
      redis.call('HSET', KEYS[1], 'milli', milli, 'at', math.max(now, at))
      redis.call('PEXPIRE', KEYS[1], window * 2)
      return {grant, math.floor((cap - milli) / 1000)}
      """;

  private static final String FIXED_SHA = RedisStore.sha1(FIXED);
  private static final String SLIDING_SHA = RedisStore.sha1(SLIDING);
  private static final String BUCKET_SHA = RedisStore.sha1(BUCKET);

  private final RedisStore store;
  private final String prefix;

  /** Counters in {@code store}, their keys under {@code prefix} (such as {@code keystone:rl:}). */
  public RedisCounters(RedisStore store, String prefix) {
    this.store = store;
    this.prefix = prefix;
  }

  @Override
  public Future<Grant> reserve(String counter, RateLimitRule rule, long windowStart, long want, long now) {
    long window = rule.window().toMillis();
    String base = prefix + counter.replace('\n', '|');
    Future<Response> r = switch (rule.algorithm()) {
      case FIXED_WINDOW -> store.eval(FIXED, FIXED_SHA, List.of(base + "|" + windowStart),
          List.of(Long.toString(rule.limit()), Long.toString(want), Long.toString(window + 1000)));
      case SLIDING_WINDOW -> store.eval(SLIDING, SLIDING_SHA, List.of(base + "|" + windowStart, base + "|" + (windowStart - window)),
          List.of(Long.toString(rule.limit()), Long.toString(want), Long.toString(2 * window + 1000),
              Long.toString((window - (now - windowStart)) * 1_000_000 / window)));
      case TOKEN_BUCKET -> store.eval(BUCKET, BUCKET_SHA, List.of(base),
          List.of(Long.toString(rule.limit()), Long.toString(want), Long.toString(window)));
    };
    return r.map(res -> new Grant(res.get(0).toLong(), res.get(1).toLong()));
  }
}
