package dev.keystone.config;

import java.time.Duration;

/**
 * The original v1.3 {@code lua_engine} block, pointing at a separate script-engine service.
 * Accepted and validated so that those files keep loading; used by the scripting features.
 */
public record LuaEngineConfig(boolean enabled, String url, Duration timeout) {

  public static final LuaEngineConfig DISABLED = new LuaEngineConfig(false, null, Duration.ofSeconds(5));
}
