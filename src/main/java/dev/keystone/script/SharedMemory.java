package dev.keystone.script;

import java.util.ArrayList;
import java.util.List;

/**
 * Memory that all tenants draw on (their kv stores; what their requests hold in flight), bounded
 * for the process. Each tenant has a cap of its own too, but caps are overcommitted: a few
 * tenants at their caps could take all of it. So every tenant is guaranteed a small share
 * ({@code floor}, or less when there are many tenants: together the guarantees are at most half
 * of the bound), and whatever a tenant takes beyond its share must leave room for the shares the
 * others have not used yet. However full the others are, a tenant can always hold its share.
 * Tenants past their share also leave the last quarter free, which backs the shares of tenants
 * still to come (added by a reload).
 */
public final class SharedMemory {

  private final String what;
  private final long max;
  private final long floor;
  private final List<Account> accounts = new ArrayList<>();
  /** Guarded by this. */
  private long used;
  /** The shares tenants are guaranteed and have not used yet, together. Guarded by this. */
  private long owed;

  /**
   * @param what  what the memory is for, for error messages
   * @param max   what all tenants may hold together
   * @param floor the most a tenant is guaranteed
   */
  public SharedMemory(String what, long max, long floor) {
    this.what = what;
    this.max = max;
    this.floor = floor;
  }

  /** A pool without a bound, for tests and tools. */
  public static SharedMemory unbounded(String what) {
    return new SharedMemory(what, Long.MAX_VALUE, 0);
  }

  /**
   * A new tenant's account. The shares of all shrink when there are many. A newcomer's share is
   * only what is backed now: accounts are made on first use, when others may have taken all
   * that was not owed, and a share nothing backs would eat into the shares of the tenants there
   * before (attack round 5, R5-T4).
   */
  public synchronized Account account() {
    Account a = new Account();
    long share = Math.min(floor, max / 2 / (accounts.size() + 1));
    owed = 0;
    for (Account each : accounts) {
      each.share = Math.min(each.share, share);
      owed += Math.max(0, each.share - each.held);
    }
    a.share = Math.max(0, Math.min(share, max - used - owed));
    owed += a.share;
    accounts.add(a);
    return a;
  }

  public synchronized long used() {
    return used;
  }

  public long max() {
    return max;
  }

  public String what() {
    return what;
  }

  /** What one tenant holds of the pool. */
  public final class Account {
    private long held;
    /** What this tenant is guaranteed. Guarded by the pool. */
    private long share;

    /** Takes {@code bytes} if the pool can give them without eating into others' shares. */
    public boolean take(long bytes) {
      synchronized (SharedMemory.this) {
        long after = held + bytes;
        long owedAfter = owed - Math.max(0, share - held) + Math.max(0, share - after);
        // Past its share a tenant also leaves the last quarter free: the shares of tenants that
        // have no account yet (a tenant added by a reload) are backed by it.
        long free = max - used - owedAfter - (after > share ? max / 4 : 0);
        if (bytes > free) {
          return false;
        }
        used += bytes;
        owed = owedAfter;
        held = after;
        return true;
      }
    }

    public void give(long bytes) {
      synchronized (SharedMemory.this) {
        long after = held - bytes;
        owed += Math.max(0, share - after) - Math.max(0, share - held);
        used -= bytes;
        held = after;
      }
    }

    public long held() {
      synchronized (SharedMemory.this) {
        return held;
      }
    }
  }
}
