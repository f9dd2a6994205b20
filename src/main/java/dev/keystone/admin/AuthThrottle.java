package dev.keystone.admin;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Slows down token guessing: a client address with {@value #LIMIT} refused tokens within
 * {@value #WINDOW_SECONDS} seconds is answered 429 (its token is not even checked) until the
 * window has passed. A token is long and random, so guessing is hopeless anyway; this keeps a
 * scanner from filling the logs and the CPU once the admin port is reachable from a network.
 */
final class AuthThrottle {

  static final int LIMIT = 30;
  static final long WINDOW_SECONDS = 60;
  /** Addresses tracked at most: beyond this (a flood from many addresses) nothing is throttled. */
  private static final int MAX_TRACKED = 10_000;

  private record Window(long startMillis, int failures) {
  }

  private final Clock clock;
  private final Map<String, Window> failures = new ConcurrentHashMap<>();

  AuthThrottle(Clock clock) {
    this.clock = clock;
  }

  /** Seconds until {@code address} may try again, or 0 when it may try now. */
  long blockedFor(String address) {
    Window w = failures.get(address);
    if (w == null || w.failures() < LIMIT) {
      return 0;
    }
    long left = w.startMillis() + WINDOW_SECONDS * 1000 - clock.millis();
    if (left <= 0) {
      failures.remove(address, w);
      return 0;
    }
    return (left + 999) / 1000;
  }

  void failed(String address) {
    long now = clock.millis();
    if (failures.size() >= MAX_TRACKED) {
      failures.values().removeIf(w -> now - w.startMillis() > WINDOW_SECONDS * 1000);
      if (failures.size() >= MAX_TRACKED) {
        return;
      }
    }
    failures.merge(address, new Window(now, 1), (old, one) -> now - old.startMillis() > WINDOW_SECONDS * 1000
        ? one : new Window(old.startMillis(), old.failures() + 1));
  }

  void succeeded(String address) {
    failures.remove(address);
  }
}
