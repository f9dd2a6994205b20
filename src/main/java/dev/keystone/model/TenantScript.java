package dev.keystone.model;

import dev.keystone.script.LuaScript;
import dev.keystone.script.ScriptLimits;

/**
 * Where and how a tenant's routing script runs, decided once when the snapshot is built. Its
 * identity is the key of the per-loop script states: a reload makes new plans, so states of a
 * replaced script are dropped with it.
 *
 * @param name      the script's file name ({@code lua_script})
 * @param compiled  the script compiled for the embedded engine, or null when it runs remotely
 * @param remote    the engine that runs it ({@code lua_engine}, or the tenant's own process with
 *                  {@code isolation: process}); null when embedded, or when no engine is enabled
 *                  for a remote script (then the tenant routes as if it had none)
 * @param limits    per-call limits ({@code script_limits})
 * @param failOpen  on a failure, route as if there were no script instead of answering 500
 * @param bodyCap   the most request-body bytes the script sees; 0: none
 * @param shadow    {@code script_mode: shadow}: the decision is logged and counted, not applied
 * @param catalog   the catalog entry the script is ({@code script: {catalog: ...}}), or null
 */
public record TenantScript(String name, LuaScript compiled, RemoteEngine remote, ScriptLimits limits,
                           boolean failOpen, long bodyCap, boolean shadow, CatalogScript catalog) {

  public TenantScript(String name, LuaScript compiled, RemoteEngine remote, ScriptLimits limits, boolean failOpen,
                      long bodyCap) {
    this(name, compiled, remote, limits, failOpen, bodyCap, false, null);
  }

  /** The catalog script's parameters as JSON text, or null for a script of the tenant's own. */
  public String params() {
    return catalog == null ? null : catalog.params();
  }
}
