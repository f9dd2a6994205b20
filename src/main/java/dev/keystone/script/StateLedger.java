package dev.keystone.script;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What all loaded Lua states of this process keep, together: at most a quarter of the heap. Each
 * state is capped by {@code script_limits.max_state}, but states are made per tenant and per event
 * loop, so their sum needs a bound of its own: a state that does not fit fails to load (its
 * tenant's error policy applies) instead of taking the heap from everyone. A state's share comes
 * back when it is dropped (a reload, a tenant removed) or, failing that, when it is collected.
 */
final class StateLedger {

  private static final Cleaner CLEANER = Cleaner.create();
  static final StateLedger PROCESS = new StateLedger(Runtime.getRuntime().maxMemory() / 4);

  private final long max;
  private final AtomicLong used = new AtomicLong();

  StateLedger(long max) {
    this.max = max;
  }

  /** Reserves {@code bytes} for {@code owner} until it is released or collected; null if they do not fit. */
  Cleaner.Cleanable reserve(Object owner, long bytes) {
    if (used.addAndGet(bytes) > max) {
      used.addAndGet(-bytes);
      return null;
    }
    return CLEANER.register(owner, () -> used.addAndGet(-bytes));
  }

  long used() {
    return used.get();
  }

  long max() {
    return max;
  }
}
