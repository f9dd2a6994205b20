package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.vertx.core.http.impl.headers.HeadersMultiMap;

/**
 * Netty's response encoder for a client connection of {@link ClientListener}, knowing what
 * Netty's server codec learns from a queue of request methods: the answer to a HEAD has no body,
 * whatever its head says (a relayed {@code Transfer-Encoding: chunked} must not make it write a
 * last chunk). Headers kept in Vert.x's map are written by its faster encoder.
 */
final class ResponseEncoder extends HttpResponseEncoder {

  static final String NAME = "keystone-response-encoder";

  /** The head written next answers a HEAD request. Set by the sink just before it writes a head. */
  boolean headRequest;

  @Override
  protected boolean isContentAlwaysEmpty(HttpResponse msg) {
    return (headRequest && msg.status().code() >= 200) || super.isContentAlwaysEmpty(msg);
  }

  @Override
  protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
    if (headers instanceof HeadersMultiMap fast) {
      fast.encode(buf, false);
    } else {
      super.encodeHeaders(headers, buf);
    }
  }
}
