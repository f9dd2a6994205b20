package dev.keystone.script;

/**
 * A script went over one of its {@link ScriptLimits}. An {@link Error}, not a {@code LuaError}:
 * Lua's {@code pcall} and {@code xpcall} catch only LuaJ's errors and Java exceptions, so a script
 * cannot catch this and carry on.
 */
public final class ScriptLimitError extends Error {

  public ScriptLimitError(String message) {
    super(message, null, false, false);
  }
}
