package dev.keystone.model;

import java.util.List;

/** A tenant's backends and the policy that picks among them. */
public final class Pool {

  /** The pick for one attempt; {@code fallback} is true when no backend was healthy. */
  public record Pick(Backend backend, boolean fallback) {
  }

  private final List<Backend> backends;
  private final SelectionPolicy policy;

  public Pool(List<Backend> backends, SelectionPolicy policy) {
    this.backends = List.copyOf(backends);
    this.policy = policy;
  }

  public List<Backend> backends() {
    return backends;
  }

  /**
   * Picks a backend. When none is healthy the first one that is not drained (nor {@code exclude})
   * is used anyway (the original fallback: health checks can be wrong, a request that might
   * succeed beats a certain error). Returns null when there is nothing left to try.
   */
  public Pick pick(Backend exclude) {
    if (backends.isEmpty()) {
      return null;
    }
    Backend b = policy.select(backends, exclude);
    if (b != null) {
      return new Pick(b, false);
    }
    for (Backend b2 : backends) {
      // The original fallback (the first backend), but never onto one an operator took out, and
      // for a retry the next one after the backend that just failed.
      if (!b2.health().drained() && b2 != exclude) {
        return new Pick(b2, true);
      }
    }
    return null;
  }

  /**
   * A healthy backend among {@code candidates} other than {@code exclude}, starting at a random
   * one so load spreads; null when none is healthy (a script chose these: no fallback to an
   * unhealthy one).
   */
  public static Pick pickHealthy(List<Backend> candidates, Backend exclude) {
    int n = candidates.size();
    int start = n > 1 ? java.util.concurrent.ThreadLocalRandom.current().nextInt(n) : 0;
    for (int i = 0; i < n; i++) {
      Backend b = candidates.get((start + i) % n);
      if (b != exclude && b.healthy()) {
        return new Pick(b, false);
      }
    }
    return null;
  }

  public int healthyCount() {
    int n = 0;
    for (Backend b : backends) {
      if (b.healthy()) {
        n++;
      }
    }
    return n;
  }

  /** True when requests currently go to the fallback backend because none is healthy. */
  public boolean inFallback() {
    return !backends.isEmpty() && healthyCount() == 0;
  }
}
