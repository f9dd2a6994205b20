package dev.keystone.proxy;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;

/**
 * The requests in flight on one event loop, swept periodically for two things. A body that stops
 * moving (the client stopped sending or reading, or the backend stopped taking the upload) ends
 * after the idle timeout. And any request that makes no progress at all for longer than every
 * timer allows can only be stuck through a bug: it is answered 500 (or cut) and logged, so even
 * a bug ends in an answer, never a hang.
 */
final class InFlight {

  // A list through the exchanges themselves (Exchange.inFlightPrev/Next): adding and removing
  // cost two stores each, where a hash set hashed and probed twice per request.
  private Exchange first;
  private int size;

  void add(Exchange ex) {
    if (ex.inFlightList == this) {
      return;
    }
    ex.inFlightList = this;
    ex.inFlightPrev = null;
    ex.inFlightNext = first;
    if (first != null) {
      first.inFlightPrev = ex;
    }
    first = ex;
    size++;
  }

  void remove(Exchange ex) {
    if (ex.inFlightList != this) {
      return;
    }
    if (ex.inFlightPrev != null) {
      ex.inFlightPrev.inFlightNext = ex.inFlightNext;
    } else {
      first = ex.inFlightNext;
    }
    if (ex.inFlightNext != null) {
      ex.inFlightNext.inFlightPrev = ex.inFlightPrev;
    }
    ex.inFlightList = null;
    ex.inFlightPrev = null;
    ex.inFlightNext = null;
    size--;
  }

  int size() {
    return size;
  }

  /** How long a client with a full write queue may hold it while memory is short. */
  static final long SHED_AFTER_NANOS = 250_000_000L;

  /**
   * @param idleNanos  how long a streaming body may stand still
   * @param stallNanos how long any request may go without progress (the backstop)
   * @param pressure   what is running short (network buffers, backend connections), or null:
   *                   while something is, clients that do not read
   *                   are then cut after {@link #SHED_AFTER_NANOS}, not after idle
   */
  void sweep(long now, long idleNanos, long stallNanos, String pressure) {
    List<Exchange> late = null;
    int shed = 0;
    List<Exchange> headLate = null;
    for (Exchange ex = first; ex != null; ex = ex.inFlightNext) {
      if (ex.onHeadTimeout != null && ex.phase == Exchange.Phase.AWAITING_HEAD && now - ex.headDeadline >= 0) {
        if (headLate == null) {
          headLate = new ArrayList<>();
        }
        headLate.add(ex);
        continue;
      }
      if (pressure == null) {
        clientProgress(ex, now);
      }
      long quiet = now - ex.progressNanos;
      boolean slowClient = pressure != null && ex.phase == Exchange.Phase.RESPONDING && quiet > SHED_AFTER_NANOS
          && clientBlocked(ex);
      if (slowClient) {
        shed++;
      }
      if (slowClient || quiet > idleNanos && streams(ex.phase) || quiet > stallNanos) {
        if (late == null) {
          late = new ArrayList<>();
        }
        late.add(ex);
      }
    }
    if (headLate != null) {
      for (Exchange ex : headLate) {
        Runnable timeout = ex.onHeadTimeout;
        ex.onHeadTimeout = null;
        ex.guarded(timeout).run();
      }
    }
    if (late == null) {
      return;
    }
    if (shed > 0) {
      Exchange.LOG.warning(pressure + ": cutting " + shed + " client(s) that are not reading their responses");
    }
    for (Exchange ex : late) {
      long quietMs = (now - ex.progressNanos) / 1_000_000;
      ex.guard(v -> end(ex, quietMs, stallNanos / 1_000_000)).handle(null);
    }
  }

  /**
   * A client blocked on a full write queue that took some bytes since the last sweep made
   * progress: a slow but steady reader is not one that stopped (attack s16 F2: progress was
   * counted only once the queue had drained below its low mark, 32 KiB, so a client reading less
   * than that per idle timeout was cut). Under memory pressure this is not asked: slow readers
   * are shed then.
   */
  private static void clientProgress(Exchange ex, long now) {
    if (ex.phase != Exchange.Phase.RESPONDING || !clientBlocked(ex)) {
      ex.blockedBytes = -1;
      return;
    }
    long left = ex.response().bytesBeforeDrained();
    if (ex.blockedBytes >= 0 && left < ex.blockedBytes) {
      ex.progressNanos = now;
    }
    ex.blockedBytes = left;
  }

  /** The response waits for the client to read (its connection's buffer is full). */
  private static boolean clientBlocked(Exchange ex) {
    return ex.clientBlocked || ex.response().writeQueueFull();
  }

  private static boolean streams(Exchange.Phase p) {
    return p == Exchange.Phase.SENDING || p == Exchange.Phase.RESPONDING || p == Exchange.Phase.BUFFERING_BODY;
  }

  private void end(Exchange ex, long quietMs, long stallMs) {
    remove(ex);
    switch (ex.phase) {
      case BUFFERING_BODY -> ex.fail(ProxyError.REQUEST_TIMEOUT, "request body stalled for " + quietMs + " ms");
      case SENDING -> {
        if (ex.backendBlocked) {
          String why = "backend " + ex.backend.name() + " stopped reading the request body for " + quietMs + " ms";
          ex.backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
          ex.fail(ProxyError.UPSTREAM_TIMEOUT, why);
        } else {
          ex.clientFault = true;
          ex.fail(ProxyError.REQUEST_TIMEOUT, "request body stalled for " + quietMs + " ms");
        }
      }
      case RESPONDING -> {
        // The client stopped reading, or the backend stopped sending mid-body: cut both. A cut
        // connection is closed at once: a graceful close would wait for the client to read.
        boolean clientSlow = clientBlocked(ex);
        if (clientSlow) {
          ex.clientFault = true;
          ex.errorDetail = "client stopped reading the response for " + quietMs + " ms";
        } else {
          ex.truncated = true;
          ex.errorDetail = "backend stalled mid-response for " + quietMs + " ms";
          ex.backend.health().passiveFailure(ex.errorDetail, ex.snapshot().plan().passiveHealth(), false);
          ex.backendBlamed = true; // the broken relay that follows is the same failure
        }
        ex.abortUpstream();
        ex.client().closeNow();
      }
      default -> {
        Exchange.LOG.log(Level.SEVERE, "request " + ex.requestId + ": no progress for " + quietMs + " ms in phase "
            + ex.phase + " (every timer allows at most " + stallMs + " ms): ended by the backstop");
        ErrorResponder.send(ex, ProxyError.INTERNAL, "no progress for " + quietMs + " ms in phase " + ex.phase);
      }
    }
  }
}
