package dev.keystone.proxy;

/**
 * The client's request body when the answer comes before it was read (an error, a script's
 * answer, a backend that answered early). The next request on the connection starts after this
 * body, so it must be read to its end or the connection closed: a paused, unread body would
 * wedge the connection, and pipelined requests behind it would never be answered. As Go's
 * server: a small rest is read and dropped, a large one closes the connection.
 */
final class ClientBody {

  /** Bodies up to this size are read and dropped to keep the connection (Go reads 256 KiB). */
  static final long DRAIN_LIMIT = 64 * 1024;

  /** The client's body passed the tenant's {@code max_body_size} while it was forwarded. */
  static final class TooLarge extends RuntimeException {
    TooLarge(long limit) {
      super("request body above " + limit + " bytes", null, false, false);
    }
  }

  private ClientBody() {
  }

  /**
   * The length a request head declares: -1 for chunked, 0 for none. RequestGuard and the decoder
   * made sure there is at most one valid Content-Length and never both.
   */
  static long declaredLength(io.netty.handler.codec.http.HttpHeaders h) {
    if (h.contains("Transfer-Encoding")) {
      return -1;
    }
    String cl = h.get("Content-Length");
    return cl == null ? 0 : Long.parseLong(cl);
  }

  /** Whether the request declares a body (a Content-Length above 0, or chunked). */
  static boolean declared(Exchange ex) {
    return ex.body().declaredLength() != 0;
  }

  /** Whether body bytes the gateway has not read may still come on the connection. */
  static boolean unread(Exchange ex) {
    BodySource.State s = ex.body().state();
    return ex.bufferedBody == null && (s == BodySource.State.UNREAD || s == BodySource.State.STREAMING);
  }

  /**
   * Ends the gateway's own answer (a script's, a redirect, an ACME challenge: status and headers
   * set) without reading the request body: a small one is dropped, a larger one closes the
   * connection after the answer.
   */
  static void answerUnread(Exchange ex, String body) {
    ex.answered = true;
    if (settle(ex)) {
      ex.response().end(body);
    } else {
      ex.response().endAndClose(body);
    }
  }

  /**
   * Makes sure the connection can go on after the answer: true when nothing is left unread or the
   * rest is small and is now being read and dropped; false when the connection must close.
   */
  static boolean settle(Exchange ex) {
    if (ex.body().state() == BodySource.State.FAILED) {
      return false; // the framing is broken: nothing after it can be trusted
    }
    if (!unread(ex)) {
      return true;
    }
    long length = ex.body().declaredLength();
    if (length < 0 || length > DRAIN_LIMIT) {
      return false;
    }
    ex.body().drop();
    return true;
  }
}
