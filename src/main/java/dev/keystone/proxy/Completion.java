package dev.keystone.proxy;

import dev.keystone.metrics.Metrics;

import java.util.logging.Level;

/**
 * Notices the end of each request exactly once, with its true outcome, and reports it to the
 * access log and the metrics. Everything the metrics need was noted on the {@link Exchange} by
 * the steps that knew it (tenant, backend, upstream time, retries, script outcome), so the
 * counters are all updated here, in one place.
 *
 * <p>The outcome is read from the response, not from which callback fired first: Vert.x runs
 * the response's end handler also when the connection closes first (before its close handler),
 * so "ended" alone would call an abort a success.
 */
final class Completion implements Interceptor {

  /** How a request ended. */
  enum Outcome {
    /** The whole response was written. */
    COMPLETE,
    /** The client left before the response was complete. */
    ABORTED,
    /** The gateway cut a response it had started (the backend broke off mid-body, or a bug). */
    TRUNCATED
  }

  private final Metrics metrics;
  private final InFlight inFlight;

  Completion(Metrics metrics, InFlight inFlight) {
    this.metrics = metrics;
    this.inFlight = inFlight;
  }

  @Override
  public void handle(Exchange ex) {
    ex.metrics = metrics;
    ex.inFlight = inFlight;
    metrics.started();
    if (inFlight != null) {
      inFlight.add(ex);
    }
    ResponseSink response = ex.response();
    // A body that fails to decode (a bad chunk) while no step reads it, say while a backend
    // connection is being opened: answer 400 now, before Vert.x closes the connection. A step
    // that streams the body sets its own handler.
    ex.body().onUnreadFailure(ex.<Throwable>guard(t -> {
      if (!response.closed() && !Failures.clientGone(t)) {
        ex.fail(ProxyError.BAD_REQUEST, "request body: " + Failures.describe(t));
      }
    })::handle);
    ex.client().onResponseEnd(() -> done(ex, outcome(ex)));
    ex.onClientClose(() -> done(ex, outcome(ex)));
    ex.next();
  }

  private static Outcome outcome(Exchange ex) {
    if (ex.response().ended() && !ex.truncated) {
      return Outcome.COMPLETE;
    }
    return ex.truncated ? Outcome.TRUNCATED : Outcome.ABORTED;
  }

  /** The request is over. Later calls do nothing. */
  static void done(Exchange ex, Outcome outcome) {
    if (ex.completed) {
      return;
    }
    ex.completed = true;
    ex.phase = Exchange.Phase.DONE;
    ex.releaseHeld();
    if (ex.inFlight != null) {
      ex.inFlight.remove(ex);
    }
    if (outcome != Outcome.COMPLETE) {
      ex.abortUpstream(); // the client is gone or cut: the backend exchange must not complete
    }
    if (AccessLog.LOG.isLoggable(Level.INFO)) {
      AccessLog.log(ex, outcome);
    }
    Metrics m = ex.metrics;
    if (m != null) {
      m.record(ex.tenant() == null ? "" : ex.tenant().name(),
          ex.backend() == null ? "" : ex.backend().name(),
          ex.head().method().name(),
          outcome == Outcome.COMPLETE ? ex.response().status() : 0,
          System.nanoTime() - ex.startNanos(),
          ex.upstreamNanos, ex.retries, ex.scriptOutcome, ex.scriptNanos);
      if (ex.shadowDecision != null && ex.tenant() != null) {
        m.shadowDecision(ex.tenant().name(), ex.shadowDecision);
      }
    }
  }
}
