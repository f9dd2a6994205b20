package dev.keystone.proxy;

import io.netty.handler.codec.http.HttpMethod;

import java.io.IOException;

/**
 * When a request may be sent again, by the rule of Go's {@code http.Transport}: a request that
 * was never written (no connection could be opened) may go to another backend; a replayable one
 * (its body is absent or held whole, and it is idempotent: GET, HEAD, OPTIONS, TRACE, or carries
 * an {@code Idempotency-Key}) that met a <em>reused</em> connection the backend closed before
 * sending any response byte may be sent once more, on a fresh
 * connection. Nothing else is ever
 * sent twice: a backend still processing a request when a timer fires gets a 504, not a copy.
 */
final class RetryRule {

  private RetryRule() {
  }

  static boolean idempotent(RequestHead req) {
    HttpMethod m = req.method();
    return m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.OPTIONS || m == HttpMethod.TRACE
        || req.headers().contains("Idempotency-Key") || req.headers().contains("X-Idempotency-Key");
  }

  /** Its body can be sent again: there is none, or it was read whole (for a script). */
  static boolean replayable(Exchange ex) {
    return (ex.bufferedBody != null || !ClientBody.declared(ex)) && idempotent(ex.head());
  }

  /**
   * Whether a request whose response failed with {@code cause} goes once more on a fresh
   * connection: the connection was reused, the backend closed it before any response byte
   * (a keep-alive race, not an answer), and the request can be replayed.
   */
  static boolean againOnFreshConnection(Exchange ex, boolean reused, Throwable cause) {
    return reused && ex.retries == 0 && closedBeforeResponse(cause) && replayable(ex);
  }

  /** The connection closed or was reset before a response head: not a timeout. */
  static boolean closedBeforeResponse(Throwable cause) {
    return cause instanceof IOException && !Failures.isTimeout(cause);
  }
}
