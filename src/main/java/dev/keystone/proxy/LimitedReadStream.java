package dev.keystone.proxy;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * A request body that fails once more than {@code limit} bytes have passed, for chunked bodies
 * whose size is not declared up front. The failure stops the pipe to the backend (whose request
 * is then reset, never completed) and the client gets 413.
 */
final class LimitedReadStream implements ReadStream<Buffer> {

  /** The failure raised when the limit is passed. */
  static final class TooLarge extends RuntimeException {
    TooLarge(long limit) {
      super("request body above " + limit + " bytes", null, false, false);
    }
  }

  private final ReadStream<Buffer> source;
  private final long limit;
  private long seen;
  private boolean failed;
  private Handler<Throwable> exceptionHandler;

  LimitedReadStream(ReadStream<Buffer> source, long limit) {
    this.source = source;
    this.limit = limit;
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    source.exceptionHandler(handler);
    return this;
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    if (handler == null) {
      source.handler(null);
      return this;
    }
    source.handler(buf -> {
      if (failed) {
        return;
      }
      seen += buf.length();
      if (seen > limit) {
        failed = true;
        source.pause();
        if (exceptionHandler != null) {
          exceptionHandler.handle(new TooLarge(limit));
        }
        return;
      }
      handler.handle(buf);
    });
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    source.pause();
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    if (!failed) {
      source.resume();
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    if (!failed) {
      source.fetch(amount);
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    source.endHandler(v -> {
      if (!failed && endHandler != null) {
        endHandler.handle(v);
      }
    });
    return this;
  }
}
