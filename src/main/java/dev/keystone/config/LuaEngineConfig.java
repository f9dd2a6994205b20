package dev.keystone.config;

import java.time.Duration;
import java.util.List;

/**
 * The original v1.3 {@code lua_engine} block, pointing at a separate script-engine service.
 * When enabled, tenants' {@code lua_script}s run in that engine (docs/engine-protocol.md) instead
 * of inside the gateway; {@code timeout} is the deadline of each call. {@code url} may be a list
 * of engines: calls are spread over those whose circuit is closed. With {@code supervise} the
 * gateway runs the engine itself and {@code urls} is its socket, filled in when it starts.
 */
public record LuaEngineConfig(boolean enabled, List<String> urls, Duration timeout, SupervisedEngine supervise) {

  public LuaEngineConfig {
    urls = List.copyOf(urls);
  }

  public LuaEngineConfig(boolean enabled, List<String> urls, Duration timeout) {
    this(enabled, urls, timeout, null);
  }

  /** The same block, calling the engines at {@code other} (a supervised engine's socket). */
  public LuaEngineConfig withUrls(List<String> other) {
    return new LuaEngineConfig(enabled, other, timeout, supervise);
  }

  /** One engine address, as in the original block. */
  public LuaEngineConfig(boolean enabled, String url, Duration timeout) {
    this(enabled, url == null ? List.of() : List.of(url), timeout);
  }

  /** The first engine address, or null. */
  public String url() {
    return urls.isEmpty() ? null : urls.get(0);
  }

  /** Absent block. A call's deadline defaults to 50 ms: a slow engine must not slow every request. */
  public static final LuaEngineConfig DISABLED = new LuaEngineConfig(false, List.of(), Duration.ofMillis(50), null);
}
