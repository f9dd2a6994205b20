package dev.keystone.proxy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpServerRequest;

/**
 * Streams the client's request body to the backend with backpressure: the client is paused
 * while the backend's write queue is full. Unlike a generic pipe it knows which side failed, so a
 * backend that died (or answered early and closed) is never blamed on the client, and a client
 * that broke off never leaves a complete-looking request at the backend. A chunked body over
 * {@code max_body_size} stops the pump.
 */
final class BodyPump {

  /** What the pump reports; each at most once, and never after {@link #stop()}. */
  interface Listener {
    /** The whole body went out and the request ended. */
    void sent();

    /** The client's side broke: it left, sent a malformed chunk, or went over the limit. */
    void clientFailed(Throwable cause);

    /** The backend's side broke: the request could not be written to it. */
    void upstreamFailed(Throwable cause);
  }

  /** The body went over {@code max_body_size}. */
  static final class TooLarge extends RuntimeException {
    TooLarge(long limit) {
      super("request body above " + limit + " bytes", null, false, false);
    }
  }

  private final Exchange ex;
  private final HttpServerRequest req;
  private final HttpClientRequest up;
  private final long limit;
  private final Listener listener;
  private long seen;
  private boolean over;

  BodyPump(Exchange ex, HttpClientRequest up, long limit, Listener listener) {
    this.ex = ex;
    this.req = VertxClientSide.request(ex);
    this.up = up;
    this.limit = limit;
    this.listener = listener;
  }

  void start() {
    ex.phase(Exchange.Phase.SENDING);
    req.handler(ex.guard(this::chunk));
    req.exceptionHandler(ex.guard(t -> finish(() -> listener.clientFailed(t))));
    req.endHandler(ex.guard(v -> {
      if (over) {
        return;
      }
      up.end().onComplete(ex.guard(ar -> {
        if (ar.failed()) {
          finish(() -> listener.upstreamFailed(ar.cause()));
        } else if (!over) {
          over = true; // the request ended: nothing to pause
          listener.sent();
        }
      }));
    }));
    up.exceptionHandler(ex.guard(t -> finish(() -> listener.upstreamFailed(t))));
    req.resume();
  }

  private void chunk(Buffer b) {
    if (over) {
      return;
    }
    seen += b.length();
    if (limit > 0 && seen > limit) {
      finish(() -> listener.clientFailed(new TooLarge(limit)));
      return;
    }
    ex.progress();
    up.write(b).onFailure(ex.guard(t -> finish(() -> listener.upstreamFailed(t))));
    if (up.writeQueueFull()) {
      req.pause();
      ex.backendBlocked = true;
      up.drainHandler(ex.guard(v -> {
        ex.backendBlocked = false;
        ex.progress();
        if (!over) {
          req.resume();
        }
      }));
    }
  }

  /** Body bytes taken from the client so far. */
  long seen() {
    return seen;
  }

  /** Whether the pump is done (the body went out, or one side failed, or it was stopped). */
  boolean over() {
    return over;
  }

  /** Stops reading the client's body; nothing more is reported. */
  void stop() {
    over = true;
    req.pause();
  }

  private void finish(Runnable report) {
    if (over) {
      return;
    }
    over = true;
    ex.backendBlocked = false;
    req.pause();
    report.run();
  }
}
