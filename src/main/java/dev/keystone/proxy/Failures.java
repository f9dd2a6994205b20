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
