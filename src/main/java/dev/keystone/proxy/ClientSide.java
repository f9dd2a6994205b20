package dev.keystone.proxy;

/**
 * The transport seam: one request as the client-facing transport presents it to the interceptors
 * (head, body, response, connection events and its event loop). The chain and {@link Exchange}
 * see only this; a transport (today HTTP/1.1 on Netty, {@link NettyClientSide}; HTTP/2 streams
 * can feed the same exchange) implements it, and forwarding lives behind {@link UpstreamTransport}.
 */
public interface ClientSide {

  RequestHead head();

  BodySource body();

  ResponseSink response();

  /** Runs {@code listener} once when the response has ended (written whole, or the connection closed). */
  void onResponseEnd(Runnable listener);

  /** Runs {@code listener} if the client connection closes before the response has ended. */
  void onClose(Runnable listener);

  /** Runs {@code task} soon on this request's event loop. */
  void runOnLoop(Runnable task);

  /** Runs {@code task} on this request's event loop after {@code delayMillis}. */
  void runLater(Runnable task, long delayMillis);

  /**
   * Closes the client connection at once, dropping what is queued for it: for a client that does
   * not read, a graceful close (which first sends what is queued) would never end.
   */
  void closeNow();
}
