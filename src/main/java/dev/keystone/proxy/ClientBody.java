package dev.keystone.proxy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

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

  private ClientBody() {
  }

  static boolean declared(HttpServerRequest req) {
    String cl = req.getHeader("Content-Length");
    return req.headers().contains("Transfer-Encoding") || (cl != null && !cl.equals("0"));
  }

  /** Whether body bytes the gateway has not read may still come on the connection. */
  static boolean unread(Exchange ex) {
    HttpServerRequest req = ex.request();
    return ex.bufferedBody == null && declared(req) && !req.isEnded();
  }

  /**
   * Makes sure the connection can go on after the answer: true when nothing is left unread or the
   * rest is small and is now being read and dropped; false when the connection must close.
   */
  static boolean settle(Exchange ex) {
    if (!unread(ex)) {
      return true;
    }
    HttpServerRequest req = ex.request();
    String cl = req.getHeader("Content-Length");
    if (cl == null || Long.parseLong(cl) > DRAIN_LIMIT) { // RequestGuard made sure it is digits
      return false;
    }
    req.handler(ClientBody::drop);
    req.exceptionHandler(t -> { });
    req.endHandler(null);
    req.resume();
    return true;
  }

  private static void drop(Buffer b) {
  }

  /**
   * Ends the response with {@code body}, saying {@code Connection: close}, then closes the
   * connection without losing the answer to a reset: the connection lingers, reading and dropping
   * what the client still sends, until the client closes it (see {@link ClientConnections}).
   */
  static void closeAfter(Exchange ex, HttpServerResponse response, String body) {
    HttpConnection conn = ex.request().connection();
    response.putHeader("Connection", "close");
    ClientConnections.lingerOnClose(conn);
    response.end(body).onComplete(v -> conn.close());
    // A request whose body failed to decode: Vert.x closes the channel within the same read,
    // before its batched writes would be flushed.
    StrictRequestDecoder.flushNow(conn);
  }

  /**
   * For a response relayed while the request body is not read whole (the backend answered
   * early): it says {@code Connection: close}, and the connection lingers when it is closed after
   * the response; the caller closes it then.
   */
  static void prepareClose(Exchange ex, HttpServerResponse response) {
    response.putHeader("Connection", "close");
    ClientConnections.lingerOnClose(ex.request().connection());
  }
}
