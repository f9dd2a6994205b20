package dev.keystone.model;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * What operators did to the gateway lately (reloads and drains), newest last, bounded. Health
 * transitions are kept by each backend's own history and merged in by the admin API.
 */
public final class Events {

  /** One event. */
  public sealed interface Event permits Reload, Drain, Certificate, Rollout {
    Instant at();
  }

  /**
   * A reload attempt.
   *
   * @param trigger startup, file, certificate (a certificate or key file changed), signal, api or compat
   */
  public record Reload(Instant at, boolean applied, long version, String trigger, List<String> errors) implements Event {
    public Reload {
      errors = List.copyOf(errors);
    }
  }

  /** A backend drained or undrained by an operator. */
  public record Drain(Instant at, String backend, String url, List<String> tenants, boolean drained) implements Event {
    public Drain {
      tenants = List.copyOf(tenants);
    }
  }

  /**
   * An ACME order ended ({@code tls: auto}).
   *
   * @param names    the names ordered
   * @param issued   whether a certificate was issued
   * @param detail   when issued, its expiry; else the CA's reason
   */
  public record Certificate(Instant at, List<String> names, boolean issued, String detail) implements Event {
    public Certificate {
      names = List.copyOf(names);
    }
  }

  /**
   * A rollout's step: started, advanced, held for traffic, rolled back, promoted, paused,
   * resumed or aborted, with the figures that decided it.
   *
   * @param percent the canary's share after the event
   * @param detail  the figures (canary against the others) or the operator's action
   */
  public record Rollout(Instant at, String tenant, String canary, String action, double percent, String detail)
      implements Event {
  }

  private static final int KEEP = 100;
  private final Deque<Event> events = new ArrayDeque<>();

  public synchronized void add(Event e) {
    events.addLast(e);
    if (events.size() > KEEP) {
      events.removeFirst();
    }
  }

  /** Oldest first. */
  public synchronized List<Event> list() {
    return new ArrayList<>(events);
  }
}
