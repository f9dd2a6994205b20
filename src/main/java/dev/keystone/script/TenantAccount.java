package dev.keystone.script;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What one tenant holds of a {@link SharedMemory}: capped for the tenant, and drawn from the
 * process's bound. Used for what a tenant's requests keep while they are in flight (script edits,
 * bodies read for a script): each one is small, but a tenant can keep thousands waiting on a slow
 * backend, and without a bound they add up to the heap (attack on issue 13, F5).
 */
public final class TenantAccount {

  private final String tenant;
  private final long cap;
  private final SharedMemory pool;
  private final SharedMemory.Account share;
  private final AtomicLong held = new AtomicLong();

  public TenantAccount(String tenant, long cap, SharedMemory pool) {
    this.tenant = tenant;
    this.cap = cap;
    this.pool = pool;
    this.share = pool.account();
  }

  /** Takes {@code bytes} if the tenant's cap and the process allow; null when they were taken, else why not. */
  public String take(long bytes) {
    while (true) {
      long h = held.get();
      if (bytes > cap - h) {
        return "tenant " + tenant + " holds " + (h >> 10) + " KiB of " + pool.what() + " (its cap is " + (cap >> 10) + " KiB)";
      }
      if (held.compareAndSet(h, h + bytes)) {
        if (share.take(bytes)) {
          return null;
        }
        held.addAndGet(-bytes);
        return "the process holds " + (pool.used() >> 10) + " KiB of " + pool.what() + " (its bound is " + (pool.max() >> 10) + " KiB)";
      }
    }
  }

  public void give(long bytes) {
    held.addAndGet(-bytes);
    share.give(bytes);
  }

  /** The most the tenant may hold. */
  public long cap() {
    return cap;
  }

  public long held() {
    return held.get();
  }
}
