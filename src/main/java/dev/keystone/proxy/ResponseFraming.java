package dev.keystone.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;

import java.util.ArrayDeque;

/**
 * {@link ChunkedFraming} for backend connections: their chunk-size lines are read as RFC 9112
 * writes them before Netty's response decoder reads them. That decoder takes
 * {@code 100000005} for 5 (its int wraps), so a backend's 4 GiB chunk was relayed as a complete
 * 5-byte body and what followed was read as the rest of the response (attack round 3, R3-3); a
 * size line ended by a bare LF or with a broken extension is refused too. A refused line makes
 * the decoder fail the response: 502, or a cut connection when its head was already relayed.
 *
 * <p>Where a response's body ends depends on its request (nothing after a HEAD's head) and on its
 * status (none for 1xx, 204 and 304; a 101 or a successful CONNECT turns the connection into a
 * tunnel, no longer followed), so the method of each request is noted on its way out.
 */
final class ResponseFraming implements ChunkedFraming.BodyRule {

  static final String NAME = "keystone-response-framing";
  static final String METHODS = "keystone-request-methods";

  private final ArrayDeque<HttpMethod> methods = new ArrayDeque<>();

  @Override
  public boolean expectsHead() {
    return !methods.isEmpty();
  }

  @Override
  public long after(FramingHead head) {
    int status = head.statusCode();
    if (status >= 100 && status < 200) {
      // An interim answer: the final one to the same request follows (a 101 starts a tunnel).
      return status == 101 ? TO_CLOSE : NONE;
    }
    HttpMethod method = methods.poll();
    if (method == HttpMethod.HEAD || status == 204 || status == 304) {
      return NONE;
    }
    if (method == HttpMethod.CONNECT && status >= 200 && status < 300) {
      return TO_CLOSE;
    }
    if (head.chunked()) {
      return CHUNKED;
    }
    return head.hasContentLength() ? head.contentLength() : TO_CLOSE; // no length: the close ends it
  }

  /** The handler that notes the methods, placed after the codec (it sees requests before they are encoded). */
  ChannelOutboundHandlerAdapter methods() {
    return new Methods();
  }

  /** Notes the method of every request written, in order (the codec's own queue is private). */
  private final class Methods extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof HttpRequest r) {
        methods.add(r.method());
      }
      ctx.write(msg, promise);
    }
  }
}
