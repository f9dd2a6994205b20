package dev.keystone.model;

import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * All backends' runtime health, keyed by {@link Backend#stateKey}. Survives reloads: a new
 * snapshot asks for the state of each of its backends and gets the existing one when the
 * backend is unchanged.
 */
public final class HealthRegistry {

  private final ConcurrentMap<String, BackendHealth> states = new ConcurrentHashMap<>();
  private final java.time.Clock clock;

  /** @param clock when ejections end (passive health) */
  public HealthRegistry(java.time.Clock clock) {
    this.clock = clock;
  }

  public BackendHealth stateFor(String key) {
    return states.computeIfAbsent(key, k -> new BackendHealth(k, clock));
  }

  /** Forgets backends no longer configured. */
  public void retainOnly(Collection<String> keys) {
    Set<String> keep = Set.copyOf(keys);
    states.keySet().removeIf(k -> !keep.contains(k));
  }
}
