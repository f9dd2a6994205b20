package dev.keystone.proxy;

import io.vertx.core.http.HttpServerResponse;

/**
 * The one place where errors become responses: status from {@link ProxyError}, a short plain-text
 * body naming the request id (so a user's report can be found in the logs), no backend details.
 */
public final class ErrorResponder {

  private ErrorResponder() {
  }

  static void send(Exchange ex, ProxyError error, String detail) {
    send(ex, error.status, error.reason, detail);
  }

  /** The same with any status and reason phrase (a script's reject). */
  static void send(Exchange ex, int status, String reason, String detail) {
    ex.errorDetail = detail;
    HttpServerResponse response = ex.request().response();
    if (response.headWritten()) {
      // Too late for a status: the backend's response has started. Cut the connection so the
      // client sees a truncated response rather than a complete-looking one.
      response.reset();
      return;
    }
    if (response.ended() || response.closed()) {
      return;
    }
    String id = ex.requestId() == null ? "-" : ex.requestId();
    String body = status + " " + reason + " (request id " + id + ")\n";
    response.setStatusCode(status)
        .putHeader("Content-Type", "text/plain; charset=utf-8")
        .putHeader("X-Request-ID", id);
    if (status >= 400 && status < 500 && status != 404) {
      // After a malformed or refused request the connection's framing cannot be trusted (an
      // unread body may follow): close it once the answer is out.
      response.putHeader("Connection", "close");
      response.end(body).onComplete(v -> ex.request().connection().close());
      StrictRequestDecoder.flushNow(ex.request().connection());
    } else {
      response.end(body);
    }
  }
}
