package dev.keystone.script;

import java.time.Duration;

/**
 * Hard limits for one call into a script (one {@code on_request}, say).
 *
 * @param instructions Lua VM instructions per call
 * @param deadline     wall-clock time per call
 * @param maxString    bytes in any string a script builds (concatenation, string.rep, ...)
 * @param maxDepth     nested Lua calls
 * @param maxMemory    bytes the call may allocate (garbage included: it bounds what it can keep)
 */
public record ScriptLimits(long instructions, Duration deadline, int maxString, int maxDepth, long maxMemory) {

  /** Generous for routing logic (a typical script runs a few hundred instructions). */
  public static final ScriptLimits DEFAULT = new ScriptLimits(200_000, Duration.ofMillis(50), 1 << 20, 100,
      defaultMemory());

  /** The old four limits, with the default memory budget. */
  public ScriptLimits(long instructions, Duration deadline, int maxString, int maxDepth) {
    this(instructions, deadline, maxString, maxDepth, defaultMemory());
  }

  /**
   * 32 MiB per call, but never more than an eighth of the heap: every event loop may be in a
   * call at once, and what they allocate together must leave the heap to the gateway.
   */
  public static long defaultMemory() {
    return Math.min(32L << 20, Runtime.getRuntime().maxMemory() / 8);
  }
}
