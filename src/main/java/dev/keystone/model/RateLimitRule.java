package dev.keystone.model;

import java.time.Duration;

/**
 * One of a tenant's {@code rate_limits}: at most {@code limit} requests per {@code window} for each
 * value of {@code key}, counted on this instance ({@code local}) or across the cluster in the state
 * store ({@code cluster}).
 *
 * @param key        what is counted apart: the tenant as a whole, each client address, each API key
 *                   (by name), or each value of a request header
 * @param header     the header, for {@link Key#HEADER}
 * @param algorithm  fixed windows, a sliding window (the last window's count weighted by how much of
 *                   it still overlaps), or a token bucket ({@code limit} tokens, refilled over the window)
 * @param cluster    counted in the state store (Redis), shared by every instance
 * @param failClosed with the state store down: refuse (503) rather than count on this instance alone
 * @param batch      cluster: how many requests an instance takes from the store at a time (1: a
 *                   round trip per request); the most the cluster may under-admit per instance
 */
public record RateLimitRule(Key key, String header, long limit, Duration window, Algorithm algorithm, boolean cluster,
                            boolean failClosed, long batch) {

  /** What the requests are counted by. */
  public enum Key {
    TENANT, CLIENT_IP, API_KEY, HEADER;

    public String configName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** How they are counted. */
  public enum Algorithm {
    FIXED_WINDOW, SLIDING_WINDOW, TOKEN_BUCKET;

    public String configName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * What tells this rule's counters apart from another's: a reload that keeps a rule keeps its
   * counts; one that changes its limit, window or algorithm starts them over.
   */
  public String id() {
    return key.configName() + (header == null ? "" : ":" + header.toLowerCase(java.util.Locale.ROOT)) + "/" + limit + "/"
        + window.toMillis() + "/" + algorithm.configName() + (cluster ? "/cluster" : "");
  }

  /** The IETF draft's RateLimit-Policy item: {@code 100;w=60}. */
  public String policy() {
    return limit + ";w=" + Math.max(1, window.toSeconds());
  }

  /** As an operator reads it in logs and the admin API. */
  public String describe() {
    return limit + " per " + window.toSeconds() + " s by " + (key == Key.HEADER ? "header " + header : key.configName())
        + " (" + algorithm.configName() + ", " + (cluster ? "cluster" : "local") + ")";
  }
}
