package dev.keystone.gateway;

import dev.keystone.proxy.Interceptor;
import dev.keystone.script.ScriptEnvironment;

import java.time.Clock;
import java.util.List;

/**
 * How to run a {@link Gateway}: event loops, version, clock (a test clock for time-based
 * behaviour), what scripts share, and interceptors plugged into the chain (after validation,
 * before routing).
 */
public record GatewayOptions(int eventLoops, String version, Clock clock, ScriptEnvironment scripts,
                             List<Interceptor> interceptors, boolean adminListenGiven) {
  public GatewayOptions(int eventLoops, String version, Clock clock, ScriptEnvironment scripts) {
    this(eventLoops, version, clock, scripts, List.of(), false);
  }

  public GatewayOptions(int eventLoops, String version, Clock clock) {
    this(eventLoops, version, clock, ScriptEnvironment.system(clock));
  }

  /** The same with {@code extra} interceptors plugged in after validation, before routing. */
  public GatewayOptions withInterceptors(List<Interceptor> extra) {
    return new GatewayOptions(eventLoops, version, clock, scripts, List.copyOf(extra), adminListenGiven);
  }

  /**
   * The same for a gateway whose admin address was given on the command line ({@code --admin}):
   * it stays in force over the file's, so a reload does not warn that the file's applies later.
   */
  public GatewayOptions withAdminListenGiven() {
    return new GatewayOptions(eventLoops, version, clock, scripts, interceptors, true);
  }

  public static GatewayOptions defaults(String version) {
    int loops = Integer.getInteger("keystone.event-loops", Math.max(1, Runtime.getRuntime().availableProcessors()));
    return new GatewayOptions(loops, version, Clock.systemUTC());
  }
}
