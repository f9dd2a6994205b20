package dev.keystone.model;

/**
 * The settings the data plane reads on every request or sweep, taken out of the config once per
 * snapshot: the hot path never reads config records or converts durations.
 *
 * @param stallNanos a request with no progress for this long can only be stuck through a bug
 *                   ({@link Timeouts#stallLimit})
 */
public record GatewayPlan(Timeouts timeouts, Limits limits, PassiveHealth passiveHealth, String adminBasePath,
                          long idleNanos, long headerReadNanos, long stallNanos) {

  public static GatewayPlan of(Timeouts t, Limits limits, PassiveHealth passive, String adminBasePath,
                               java.time.Duration engineTimeout) {
    return new GatewayPlan(t, limits, passive, adminBasePath, t.idle().toNanos(), t.headerRead().toNanos(),
        t.stallLimit(engineTimeout).toNanos());
  }
}
