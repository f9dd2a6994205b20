package dev.keystone.script;

import java.util.Map;
import java.util.Set;

/**
 * One thread's Lua states, by key (a tenant, or a tenant and script name), made on first use. A
 * state that could not be made (its top level failed, or it defines no entry point) is kept as
 * that failure, so it is not rebuilt for every request. Not thread-safe: one per event loop.
 *
 * @param <K> the key; the map given decides whether keys compare by identity or by equality
 */
public final class ScriptStates<K> {

  /** Makes the state for a key. */
  @FunctionalInterface
  public interface Factory {
    RequestScript create() throws ScriptState.ScriptFailure;
  }

  private final Map<K, Object> states;

  /** @param backing an empty map (an IdentityHashMap for keys that are config objects) */
  public ScriptStates(Map<K, Object> backing) {
    this.states = backing;
  }

  /** The state for {@code key}, made by {@code factory} the first time; its failure thereafter. */
  public RequestScript get(K key, Factory factory) throws ScriptState.ScriptFailure {
    Object s = states.get(key);
    if (s == null) {
      try {
        s = factory.create();
      } catch (ScriptState.ScriptFailure f) {
        s = f;
      }
      states.put(key, s);
    }
    if (s instanceof ScriptState.ScriptFailure f) {
      throw f;
    }
    return (RequestScript) s;
  }

  /** Drops the states of keys not in {@code keep} (their tenants left with a reload). */
  public void retainAll(Set<K> keep) {
    states.entrySet().removeIf(e -> {
      if (keep.contains(e.getKey())) {
        return false;
      }
      close(e.getValue());
      return true;
    });
  }

  public void clear() {
    states.values().forEach(ScriptStates::close);
    states.clear();
  }

  /** A dropped state gives its memory share back at once (rather than when it is collected). */
  private static void close(Object state) {
    if (state instanceof RequestScript rs) {
      rs.close();
    }
  }
}
