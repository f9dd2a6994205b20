package dev.keystone.proxy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;

/**
 * The requests in flight on one event loop, swept periodically for two things. A body that stops
 * moving (the client stopped sending or reading, or the backend stopped taking the upload) ends
 * after the idle timeout. And any request that makes no progress at all for longer than every
 * timer allows can only be stuck through a bug: it is answered 500 (or cut) and logged, so even
 * a bug ends in an answer, never a hang.
 */
final class InFlight {

  private final Set<Exchange> exchanges = Collections.newSetFromMap(new IdentityHashMap<>());

  void add(Exchange ex) {
    exchanges.add(ex);
  }

  void remove(Exchange ex) {
    exchanges.remove(ex);
  }

  int size() {
    return exchanges.size();
  }

  /**
   * @param idleNanos  how long a streaming body may stand still
   * @param stallNanos how long any request may go without progress (the backstop)
   */
  void sweep(long now, long idleNanos, long stallNanos) {
    List<Exchange> late = null;
    for (Exchange ex : exchanges) {
      long quiet = now - ex.progressNanos;
      if (quiet > idleNanos && streams(ex.phase) || quiet > stallNanos) {
        if (late == null) {
          late = new ArrayList<>();
        }
        late.add(ex);
      }
    }
    if (late == null) {
      return;
    }
    for (Exchange ex : late) {
      long quietMs = (now - ex.progressNanos) / 1_000_000;
      ex.guard(v -> end(ex, quietMs, stallNanos / 1_000_000)).handle(null);
    }
  }

  private static boolean streams(Exchange.Phase p) {
    return p == Exchange.Phase.SENDING || p == Exchange.Phase.RESPONDING || p == Exchange.Phase.BODY_FOR_SCRIPT;
  }

  private void end(Exchange ex, long quietMs, long stallMs) {
    remove(ex);
    switch (ex.phase) {
      case BODY_FOR_SCRIPT -> ex.fail(ProxyError.REQUEST_TIMEOUT, "request body stalled for " + quietMs + " ms");
      case SENDING -> ex.fail(ex.backendBlocked ? ProxyError.UPSTREAM_TIMEOUT : ProxyError.REQUEST_TIMEOUT,
          (ex.backendBlocked ? "backend stopped reading the request body" : "request body stalled") + " for " + quietMs + " ms");
      case RESPONDING -> {
        // The client stopped reading, or the backend stopped sending mid-body: cut both.
        boolean clientSlow = ex.request().response().writeQueueFull();
        ex.errorDetail = (clientSlow ? "client stopped reading the response" : "backend stalled mid-response")
            + " for " + quietMs + " ms";
        ex.truncated = !clientSlow;
        ex.abortUpstream();
        ex.request().response().reset();
      }
      default -> {
        Exchange.LOG.log(Level.SEVERE, "request " + ex.requestId + ": no progress for " + quietMs + " ms in phase "
            + ex.phase + " (every timer allows at most " + stallMs + " ms): ended by the backstop");
        ErrorResponder.send(ex, ProxyError.INTERNAL, "no progress for " + quietMs + " ms in phase " + ex.phase);
      }
    }
  }
}
