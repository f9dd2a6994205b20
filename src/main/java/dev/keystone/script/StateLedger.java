package dev.keystone.script;

import java.lang.ref.Cleaner;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What all loaded Lua states of this process keep, together: at most a quarter of the heap. Each
 * state is capped by {@code script_limits.max_state}, but states are made per tenant and per event
 * loop, so their sum needs a bound of its own: a state that does not fit fails to load (its
 * tenant's error policy applies) instead of taking the heap from everyone. Every script has a
 * share of the bound that stays free for it ({@link SharedMemory}: 4 MiB, less with many
 * scripts), so scripts that keep a lot can't leave an ordinary one unable to load (attack round 3
 * on issue 13, F10). A state's bytes come back when it is dropped (a reload, a tenant removed)
 * or, failing that, when it is collected.
 */
final class StateLedger {

  private static final Cleaner CLEANER = Cleaner.create();
  static final StateLedger PROCESS = new StateLedger(Runtime.getRuntime().maxMemory() / 4, 4L << 20);

  private final SharedMemory pool;
  private final Map<String, SharedMemory.Account> scripts = new ConcurrentHashMap<>();

  StateLedger(long max, long share) {
    this.pool = new SharedMemory("loaded script state", max, share);
  }

  /**
   * Reserves {@code bytes} of {@code script}'s for {@code owner} until it is released or
   * collected; null if they do not fit.
   */
  Cleaner.Cleanable reserve(Object owner, String script, long bytes) {
    SharedMemory.Account account = scripts.computeIfAbsent(script, s -> pool.account());
    if (!account.take(bytes)) {
      return null;
    }
    return CLEANER.register(owner, () -> account.give(bytes));
  }

  long used() {
    return pool.used();
  }

  long max() {
    return pool.max();
  }
}
