package dev.keystone.script;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Memory that all tenants draw on (their kv stores; what their requests hold in flight), bounded
 * for the process. Each tenant has a cap of its own too, but the caps are overcommitted: a few
 * tenants at their caps could take all of it. So the last quarter is kept for tenants that hold
 * less than a small floor: a tenant that holds almost nothing still gets that much, however full
 * the others are. The reserve runs out only when more than {@code max / 4 / floor} tenants each
 * hold up to their floor at once.
 */
public final class SharedMemory {

  private final String what;
  private final long max;
  private final long floor;
  private final long reserved;
  private final AtomicLong used = new AtomicLong();

  /**
   * @param what  what the memory is for, for error messages
   * @param max   what all tenants may hold together
   * @param floor what any tenant may hold while the others hold the rest
   */
  public SharedMemory(String what, long max, long floor) {
    this.what = what;
    this.max = max;
    this.floor = Math.min(floor, max / 4);
    this.reserved = max / 4;
  }

  /** A pool without a bound, for tests and tools. */
  public static SharedMemory unbounded(String what) {
    return new SharedMemory(what, Long.MAX_VALUE, 0);
  }

  /**
   * Takes {@code bytes} for a tenant that holds {@code tenantHeld} already; false, taking nothing,
   * when the process can't give them.
   */
  public boolean take(long tenantHeld, long bytes) {
    long limit = tenantHeld + bytes <= floor ? max : max - reserved;
    while (true) {
      long u = used.get();
      if (bytes > limit - u) {
        return false;
      }
      if (used.compareAndSet(u, u + bytes)) {
        return true;
      }
    }
  }

  public void give(long bytes) {
    used.addAndGet(-bytes);
  }

  public long used() {
    return used.get();
  }

  public long max() {
    return max;
  }

  public String what() {
    return what;
  }
}
