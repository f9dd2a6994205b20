package dev.keystone.script;

/**
 * How many lines one tenant's scripts may write to the gateway's log: a token bucket of
 * {@link #BURST} lines, refilled at {@link #PER_SECOND} a second. Without it one tenant could fill
 * the disk (and slow every event loop with writes) by logging, or failing, on every request. A
 * line that is dropped is counted, and the next line written says how many were.
 */
public final class LogBudget {

  static final int PER_SECOND = 100;
  static final int BURST = 200;

  private double tokens = BURST;
  private long refilledAt = System.nanoTime();
  private long dropped;

  /**
   * Whether a line may be written now; when it may and earlier ones were dropped, a note to add
   * to it (else ""). Null when the line is dropped.
   */
  public synchronized String acquire() {
    long now = System.nanoTime();
    tokens = Math.min(BURST, tokens + (now - refilledAt) / 1e9 * PER_SECOND);
    refilledAt = now;
    if (tokens < 1) {
      dropped++;
      return null;
    }
    tokens--;
    if (dropped == 0) {
      return "";
    }
    String note = " (" + dropped + " earlier line(s) of this tenant dropped: at most " + PER_SECOND + " a second)";
    dropped = 0;
    return note;
  }
}
