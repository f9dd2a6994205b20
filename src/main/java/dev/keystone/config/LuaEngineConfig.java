package dev.keystone.config;

import java.time.Duration;

/**
 * The original v1.3 {@code lua_engine} block, pointing at a separate script-engine service.
 * When enabled, tenants' {@code lua_script}s run in that engine (docs/engine-protocol.md) instead
 * of inside the gateway; {@code timeout} is the deadline of each call.
 */
public record LuaEngineConfig(boolean enabled, String url, Duration timeout) {

  /** Absent block. A call's deadline defaults to 50 ms: a slow engine must not slow every request. */
  public static final LuaEngineConfig DISABLED = new LuaEngineConfig(false, null, Duration.ofMillis(50));
}
