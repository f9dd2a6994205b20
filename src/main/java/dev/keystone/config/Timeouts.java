package dev.keystone.config;

import java.time.Duration;

/**
 * Timeouts. Defaults are chosen for a general-purpose gateway: fail fast on connect, be patient
 * with slow handlers, and cut off clients that trickle their headers.
 *
 * @param connect        opening a connection to a backend (default 5s)
 * @param responseHeader waiting for a backend's response headers once the request is sent (60s)
 * @param idle           no bytes in either direction on an exchange or connection (60s)
 * @param headerRead     a client sending its request line and headers (10s)
 * @param shutdown       draining in-flight requests on SIGTERM (30s)
 */
public record Timeouts(Duration connect, Duration responseHeader, Duration idle, Duration headerRead,
                       Duration shutdown) {

  public static final Timeouts DEFAULTS = new Timeouts(
      Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60),
      Duration.ofSeconds(10), Duration.ofSeconds(30));
}
