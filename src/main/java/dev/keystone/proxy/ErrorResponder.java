package dev.keystone.proxy;


import java.util.logging.Level;

/**
 * The one place where errors become responses: status from {@link ProxyError}, a short plain-text
 * body naming the request id (so a user's report can be found in the logs), no backend details.
 * A request gets one answer: a second one is dropped, and once a response has started an error
 * can only cut the connection, so the client sees a truncated response, never a complete-looking
 * one.
 */
public final class ErrorResponder {

  private ErrorResponder() {
  }

  static void send(Exchange ex, ProxyError error, String detail) {
    send(ex, error.status, error.reason, detail);
  }

  /** The same with any status and reason phrase (a script's reject). */
  static void send(Exchange ex, int status, String reason, String detail) {
    ResponseSink response = ex.response();
    if (response.ended() || response.closed()) {
      Exchange.LOG.log(Level.FINE, () -> "request " + ex.requestId + ": already answered, dropping " + status + " " + detail);
      return;
    }
    ex.errorDetail = detail;
    ex.abortUpstream();
    if (response.headWritten()) {
      ex.truncated = true;
      response.cut();
      return;
    }
    ex.answered = true;
    // A relay may have copied a backend's head already (its response then broke before any byte
    // went out): the error answer carries none of it.
    response.headers().clear();
    String id = ex.requestId() == null ? "-" : ex.requestId();
    String body = status + " " + reason + " (request id " + id + ")\n";
    response.status(status);
    response.headers().set("Content-Type", "text/plain; charset=utf-8").set("X-Request-ID", id);
    Hsts.apply(ex, response.headers());
    RateLimitHeaders.apply(ex, response.headers());
    // After a malformed or refused request the connection's framing cannot be trusted (an unread
    // body may follow); after any other early answer, a body still on its way decides.
    // 429 keeps the connection as 404 does: a limited client that reconnects for every retry
    // costs more than one that waits on its connection
    if (status == 401 && ex.challenge != null) {
      response.headers().set("WWW-Authenticate", ex.challenge);
    }
    boolean close = (status >= 400 && status < 500 && status != 404 && status != 429 && status != 401)
        || ex.head().decodeFailure() != null
        || !ClientBody.settle(ex);
    if (close) {
      response.endAndClose(body);
    } else {
      response.end(body);
    }
  }
}
