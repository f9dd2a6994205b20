package dev.keystone.gateway;

import dev.keystone.cluster.StoreUrl;

import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The cluster's drains as the store holds them (one key per drained backend, see
 * {@link StoreUrl#drainKey}), applied to this instance's backends: as they change, after every
 * applied config (a backend the new config adds under a drained name starts drained), and all
 * over again after a watch that ended (the drains the store no longer has are lifted).
 */
final class ClusterDrains {

  /** Applies a drain ({@code on}) or its end to {@code backend} in {@code tenant} (null: every tenant). */
  interface Apply {
    void drain(String tenant, String backend, boolean on);
  }

  private final StoreUrl url;
  private final Apply apply;
  private final Set<String> keys = new TreeSet<>(); // guarded by this

  ClusterDrains(StoreUrl url, Collection<String> initial, Apply apply) {
    this.url = url;
    this.apply = apply;
    synchronized (this) {
      keys.addAll(initial);
    }
    applyAll(initial, true);
  }

  /** A drain key was written ({@code on}) or deleted. */
  void changed(String key, boolean on) {
    synchronized (this) {
      if (on) {
        keys.add(key);
      } else {
        keys.remove(key);
      }
    }
    applyAll(List.of(key), on);
  }

  /** The drains as the store has them now: the others are lifted. */
  void replaceAll(Set<String> now) {
    Set<String> gone;
    synchronized (this) {
      gone = new TreeSet<>(keys);
      gone.removeAll(now);
      keys.clear();
      keys.addAll(now);
    }
    applyAll(gone, false);
    applyAll(now, true);
  }

  /** Every drain again (after a config was applied). */
  void reapply() {
    applyAll(snapshot(), true);
  }

  /** Every drain again, through {@code to} (a config about to be served: its snapshot). */
  void reapplyTo(Apply to) {
    for (String k : snapshot()) {
      String[] d = url.drainOf(k);
      if (d != null) {
        to.drain(d[0], d[1], true);
      }
    }
  }

  synchronized List<String> snapshot() {
    return List.copyOf(keys);
  }

  private void applyAll(Collection<String> drainKeys, boolean on) {
    for (String k : drainKeys) {
      String[] d = url.drainOf(k);
      if (d != null) {
        apply.drain(d[0], d[1], on);
      }
    }
  }
}
