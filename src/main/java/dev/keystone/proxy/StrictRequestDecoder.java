package dev.keystone.proxy;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpMessage;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.HttpServerConnection;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;

/**
 * Vert.x's HTTP/1 request decoder, made strict about one request-smuggling shape: a request with
 * both Content-Length and Transfer-Encoding: chunked. Netty's default is to drop Content-Length
 * and carry on (RFC 9112 allows that); a proxy in front of other servers must not, since the next
 * hop may frame the message differently. Here such a request fails decoding and is answered 400.
 *
 * <p>Vert.x offers no option for this, so the decoder is swapped in the connection's Netty
 * pipeline when the connection opens, before any byte is read.
 */
final class StrictRequestDecoder extends VertxHttpRequestDecoder {

  static final String NAME = "httpDecoder";

  StrictRequestDecoder(HttpServerOptions options) {
    super(options);
  }

  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    throw new IllegalArgumentException("request has both Content-Length and Transfer-Encoding");
  }

  /**
   * Flushes what was written to the connection. Needed when answering a request whose body
   * failed to decode: Vert.x closes the channel right after, inside the same read, when its
   * batched writes would not have been flushed yet.
   */
  static void flushNow(HttpConnection connection) {
    if (connection instanceof HttpServerConnection internal) {
      internal.channelHandlerContext().flush();
    }
  }

  /** Replaces the decoder of an HTTP/1 connection; returns false if the pipeline is not the expected one. */
  static boolean install(HttpConnection connection, HttpServerOptions options) {
    if (!(connection instanceof HttpServerConnection internal)) {
      return false;
    }
    ChannelPipeline pipeline = internal.channelHandlerContext().pipeline();
    if (pipeline.get(NAME) instanceof VertxHttpRequestDecoder) {
      pipeline.replace(NAME, NAME, new StrictRequestDecoder(options));
      return true;
    }
    return false;
  }
}
