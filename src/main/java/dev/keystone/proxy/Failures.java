package dev.keystone.proxy;

import java.util.concurrent.TimeoutException;

/** How an upstream failure reads: a timeout or not, and a short description for logs. */
final class Failures {

  private Failures() {
  }

  static boolean isTimeout(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof TimeoutException || c instanceof io.netty.channel.ConnectTimeoutException) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a failure on the client's side is its connection going away (a reset, a close), not
   * a malformed body: the request is then aborted, which the close that follows records, and no
   * 400 is owed to anyone (attack R5-6).
   */
  static boolean clientGone(Throwable t) {
    return t instanceof java.io.IOException || t instanceof io.vertx.core.http.HttpClosedException;
  }

  static String describe(Throwable t) {
    String msg = t.getMessage();
    return msg == null ? t.getClass().getSimpleName() : msg;
  }

  /**
   * Upstream failures are handled through the response future and the pumps; without this
   * handler Vert.x would also log each one as an unhandled error.
   */
  static void handledElsewhere(Throwable t) {
  }
}
