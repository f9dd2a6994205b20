package dev.keystone.model;

import java.util.List;

/** A tenant's backends and the policy that picks among them. */
public final class Pool {

  /** The pick for one attempt; {@code fallback} is true when no backend was healthy. */
  public record Pick(Backend backend, boolean fallback) {
  }

  private final List<Backend> backends;
  private final SelectionPolicy policy;
  /** The tenant's canary share (runtime state), or null. */
  private final TrafficSplit split;
  /** The pool without the canary, made on first need: (canary name, pool). */
  private volatile Object[] stable;

  public Pool(List<Backend> backends, SelectionPolicy policy) {
    this(backends, policy, null);
  }

  public Pool(List<Backend> backends, SelectionPolicy policy, TrafficSplit split) {
    this.backends = List.copyOf(backends);
    this.policy = policy;
    this.split = split;
  }

  /** The canary share in force for this pool's tenant, or null. */
  public TrafficSplit.Share share() {
    return split == null ? null : split.share();
  }

  /**
   * Picks a backend for a request in {@code bucket} (0 to 9,999, from a pinned value; -1 draws
   * one at random). With a canary share in force, the canary takes the buckets below its share
   * while it is healthy (and not {@code exclude}: a retry after it failed goes to the others);
   * every other request goes to the other backends, as {@link #pick(Backend)} picks them.
   */
  public Pick pick(Backend exclude, int bucket) {
    TrafficSplit.Share s = share();
    if (s == null) {
      return pick(exclude);
    }
    Backend canary = named(s.canary());
    if (canary == null) {
      return pick(exclude);
    }
    int b = bucket >= 0 ? bucket : java.util.concurrent.ThreadLocalRandom.current().nextInt(TrafficSplit.ALL);
    if (b < s.basisPoints() && canary != exclude && canary.healthy()) {
      return new Pick(canary, false);
    }
    Pool others = without(canary);
    Pick p = others.pick(exclude);
    // No healthy backend but the canary: the canary, even for requests past its share (better
    // than a fallback onto a backend known to be down, or a 503).
    if ((p == null || p.fallback()) && canary != exclude && canary.healthy()) {
      return new Pick(canary, false);
    }
    if (p == null && canary != exclude && !canary.health().drained()) {
      return new Pick(canary, true);
    }
    return p;
  }

  private Backend named(String name) {
    for (Backend b : backends) {
      if (b.name().equals(name)) {
        return b;
      }
    }
    return null;
  }

  private Pool without(Backend canary) {
    Object[] s = stable;
    if (s != null && s[0] == canary) {
      return (Pool) s[1];
    }
    List<Backend> rest = new java.util.ArrayList<>(backends);
    rest.remove(canary);
    Pool p = new Pool(rest, new RoundRobin(rest));
    stable = new Object[] {canary, p};
    return p;
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
    for (Backend s : backends) { // none with a turn is healthy: a healthy standby backend, before a fallback
      if (s.standby() && s != exclude && s.healthy()) {
        return new Pick(s, false);
      }
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
