package dev.keystone.model;

import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** Every tenant's {@link TrafficSplit}, by tenant name: survives reloads as backends' health does. */
public final class TrafficSplits {

  private final ConcurrentMap<String, TrafficSplit> splits = new ConcurrentHashMap<>();

  public TrafficSplit splitFor(String tenant) {
    return splits.computeIfAbsent(tenant, k -> new TrafficSplit());
  }

  /** Forgets tenants no longer configured. */
  public void retainOnly(Collection<String> tenants) {
    Set<String> keep = Set.copyOf(tenants);
    splits.keySet().removeIf(k -> !keep.contains(k));
  }
}
