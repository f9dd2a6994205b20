package dev.keystone.model;

import java.time.Duration;

/**
 * Timeouts. Defaults are chosen for a general-purpose gateway: fail fast on connect, be patient
 * with slow handlers, and cut off clients that trickle their headers. Each phase of a request has
 * its own timer, so one never stands in for another: waiting for a pooled connection is not a
 * connect failure, and the idle timer never cuts a request that waits for its backend.
 *
 * @param connect        opening a TCP (and TLS) connection to a backend (default 5s)
 * @param responseHeader waiting for a backend's response headers once the request is sent (60s)
 * @param idle           a kept-alive client connection waiting for its next request, and a
 *                       request or response body that stops moving (60s)
 * @param headerRead     a client sending its request line and headers (10s)
 * @param shutdown       draining in-flight requests on SIGTERM (30s)
 * @param poolWait       waiting for a free connection when a backend has
 *                       {@code limits.upstream_connections} busy (5s); answered 503
 * @param shutdownDelay  on SIGTERM, how long the gateway keeps accepting new connections after
 *                       readiness fails, so load balancers notice first (0s)
 */
public record Timeouts(Duration connect, Duration responseHeader, Duration idle, Duration headerRead,
                       Duration shutdown, Duration poolWait, Duration shutdownDelay) {

  public static final Timeouts DEFAULTS = new Timeouts(
      Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60),
      Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ZERO);

  /**
   * The longest a request may go without any progress (a byte moved, a phase passed) before it
   * can only be stuck through a bug: every phase is bounded by one of the timers above.
   */
  public Duration stallLimit(Duration engineTimeout) {
    Duration longest = connect.plus(poolWait);
    for (Duration d : new Duration[] {responseHeader, idle, headerRead, engineTimeout}) {
      if (d.compareTo(longest) > 0) {
        longest = d;
      }
    }
    return longest.plusSeconds(1);
  }
}
