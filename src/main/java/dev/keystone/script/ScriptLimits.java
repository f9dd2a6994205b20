package dev.keystone.script;

import java.time.Duration;

/**
 * Hard limits for one call into a script (one {@code on_request}, say), and for what a loaded
 * script may keep.
 *
 * @param instructions Lua VM instructions per call
 * @param deadline     wall-clock time per call
 * @param maxString    bytes in any string a script builds (concatenation, string.rep, ...)
 * @param maxDepth     nested Lua calls
 * @param maxMemory    bytes the call may allocate (garbage included: it bounds what it can keep)
 * @param maxState     bytes a loaded script's state may keep (what its top level built), per
 *                     Lua state (one per tenant and event loop)
 * @param timePerSecond script time one tenant may use per second, all event loops together
 */
public record ScriptLimits(long instructions, Duration deadline, int maxString, int maxDepth, long maxMemory,
                           long maxState, Duration timePerSecond) {

  /** Generous for routing logic (a typical script runs a few hundred instructions). */
  public static final ScriptLimits DEFAULT = new ScriptLimits(200_000, Duration.ofMillis(50), 1 << 20, 100,
      defaultMemory(), 8L << 20, Duration.ofMillis(500));

  /** The old four limits, with the default memory and state budgets. */
  public ScriptLimits(long instructions, Duration deadline, int maxString, int maxDepth) {
    this(instructions, deadline, maxString, maxDepth, defaultMemory(), 8L << 20, Duration.ofMillis(500));
  }

  /**
   * 32 MiB per call, but never more than an eighth of the heap: every event loop may be in a
   * call at once, and what they allocate together must leave the heap to the gateway.
   */
  public static long defaultMemory() {
    return Math.min(32L << 20, Runtime.getRuntime().maxMemory() / 8);
  }
}
