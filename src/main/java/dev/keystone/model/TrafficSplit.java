package dev.keystone.model;

/**
 * A tenant's canary share: which backend is the canary and what share of the tenant's requests
 * it gets, in basis points (0 to 10,000). Runtime state, kept by tenant name across reloads
 * ({@link TrafficSplits}); a rollout moves it step by step. Without a pin, each request is
 * drawn at random; with one (a request header or cookie), a value always falls in the same
 * bucket, so a user who got the canary keeps it while its share grows.
 */
public final class TrafficSplit {

  public static final int ALL = 10_000;

  /**
   * @param canary the backend's name in the tenant
   * @param basisPoints its share, 0 to {@link #ALL}
   * @param pinHeader a request header whose value picks the bucket, or null
   * @param pinCookie a cookie whose value picks the bucket, or null
   */
  public record Share(String canary, int basisPoints, String pinHeader, String pinCookie) {
    public Share {
      if (basisPoints < 0 || basisPoints > ALL) {
        throw new IllegalArgumentException("a share between 0 and " + ALL + " basis points, not " + basisPoints);
      }
    }

    public Share withBasisPoints(int bp) {
      return new Share(canary, bp, pinHeader, pinCookie);
    }
  }

  private volatile Share share;

  /** The share in force, or null (no canary: the pool as configured). */
  public Share share() {
    return share;
  }

  public void set(Share s) {
    share = s;
  }

  public void clear() {
    share = null;
  }

  /**
   * The bucket, 0 to 9,999, of a pinned value: a script's {@code hash(value) % 10000} (FNV-1a of
   * its UTF-8 bytes), so the same value always falls in the same bucket, in a script too.
   */
  public static int bucket(String value) {
    return (int) (dev.keystone.script.Fnv1a.of(value) % ALL);
  }
}
