package dev.keystone.model;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Round-robin over healthy backends: an atomic counter that skips unhealthy ones, as in the
 * original. With weights, the counter walks a precomputed schedule built by nginx's smooth
 * weighted round-robin (weights 5,1,1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c), so the
 * hot path stays one atomic increment.
 */
public final class RoundRobin implements SelectionPolicy {

  private final AtomicLong counter = new AtomicLong();
  private final int[] schedule;

  public RoundRobin(List<Backend> backends) {
    int[] weights = new int[backends.size()];
    boolean allStandby = backends.stream().allMatch(Backend::standby);
    for (int i = 0; i < weights.length; i++) {
      // A standby backend has no turn (unless every backend is one: then they take turns as usual).
      weights[i] = backends.get(i).standby() && !allStandby ? 0 : backends.get(i).weight();
    }
    this.schedule = schedule(weights);
  }

  static int[] schedule(int[] weights) {
    int total = 0;
    for (int w : weights) {
      total += w;
    }
    int[] out = new int[total];
    int[] current = new int[weights.length];
    for (int n = 0; n < total; n++) {
      int best = 0;
      for (int i = 0; i < weights.length; i++) {
        current[i] += weights[i];
        if (current[i] > current[best]) {
          best = i;
        }
      }
      current[best] -= total;
      out[n] = best;
    }
    return out;
  }

  @Override
  public Backend select(List<Backend> backends, Backend exclude) {
    int n = schedule.length;
    for (int tries = 0; tries < n; tries++) {
      Backend b = backends.get(schedule[(int) Math.floorMod(counter.getAndIncrement(), (long) n)]);
      if (b != exclude && b.healthy()) {
        return b;
      }
    }
    return null;
  }
}
