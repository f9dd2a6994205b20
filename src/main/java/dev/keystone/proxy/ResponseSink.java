package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * Where a request's answer goes, as the transport takes it. Part of the transport seam
 * ({@link ClientSide}). The status and headers may change until the head is written; after
 * that the response can only be completed or cut.
 */
public interface ResponseSink {

  int status();

  void status(int code);

  /** The response headers, written with the head. */
  HttpHeaders headers();

  /**
   * Takes {@code h} as the response headers, to be edited in place, when none were set yet
   * (then true; false: use {@link #headers()}).
   */
  boolean adoptHeaders(HttpHeaders h);

  boolean headWritten();

  boolean ended();

  /** The client connection is closed: nothing more reaches the client. */
  boolean closed();

  /** Body bytes written so far. */
  long bytesWritten();

  /** Sends {@code 100 Continue} (the client waits for it before it sends an expected body). */
  void writeContinue();

  /**
   * Writes body bytes (the head first, if it is not written yet: chunked unless a Content-Length
   * was set). The sink takes ownership of {@code chunk}. Not flushed: the writer calls
   * {@link #flush} once it has written what it has (the end flushes by itself).
   */
  void write(ByteBuf chunk);

  /** Sends what was written and not sent yet. */
  void flush();

  /**
   * Writes the head now (chunked unless a Content-Length was set), before any body byte: a
   * client sees the answer as soon as the backend gave it, an event stream included (R5-2).
   */
  void writeHead();

  /** Writes the head with {@code body} and ends the response. */
  void end(String body);

  /**
   * Ends the response with {@code body} saying {@code Connection: close}, then closes the
   * connection without losing the answer to a reset (the transport lingers, reading and dropping
   * what the client still sends).
   */
  void endAndClose(String body);

  /**
   * The response will say {@code Connection: close} and the connection lingers when it is
   * closed after the response (a response relayed while the request body was not read whole).
   */
  void closeAfterEnd();

  /** The connection holds more written bytes than it should: stop feeding it until {@link #onDrain}. */
  boolean writeQueueFull();

  /**
   * While {@link #writeQueueFull}: how many bytes the client still has to take before writes are
   * welcome again (it goes down as the client reads); 0 otherwise.
   */
  long bytesBeforeDrained();

  /** Runs {@code task} once the written bytes have gone down again (after {@link #writeQueueFull}). */
  void onDrain(Runnable task);

  /** Trailers sent after a chunked body ({@link #finish}). */
  HttpHeaders trailers();

  /** Sends an interim {@code 103 Early Hints} head (an HTTP/1.1 client only; the caller checks). */
  void writeInterim(HttpHeaders headers);

  /**
   * Ends a relayed response (the head first, if not written yet); with {@code close}, the
   * connection closes once it is out.
   */
  void finish(boolean close);

  /** Closes the connection at once: a started response that cannot be completed is cut. */
  void cut();
}
