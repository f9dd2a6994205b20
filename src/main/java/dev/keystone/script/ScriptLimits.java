package dev.keystone.script;

import java.time.Duration;

/**
 * Hard limits for one call into a script (one {@code on_request}, say).
 *
 * @param instructions Lua VM instructions per call
 * @param deadline     wall-clock time per call
 * @param maxString    bytes in any string a script builds (concatenation, string.rep, ...)
 * @param maxDepth     nested Lua calls
 */
public record ScriptLimits(long instructions, Duration deadline, int maxString, int maxDepth) {

  /** Generous for routing logic (a typical script runs a few hundred instructions). */
  public static final ScriptLimits DEFAULT = new ScriptLimits(200_000, Duration.ofMillis(50), 1 << 20, 100);
}
