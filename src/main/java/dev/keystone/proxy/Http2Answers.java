package dev.keystone.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseNotifier;

/**
 * The answer of one HTTP/2 stream, from the HTTP/1.1 objects the gateway writes into HEADERS and
 * DATA frames: the counterpart of {@link Http2Requests}.
 *
 * <p>The last frame written is held until the next write or flush, so the one that ends the
 * answer carries END_STREAM itself: HEADERS and DATA(END_STREAM) for an answer with a body,
 * HEADERS(END_STREAM) for one without, as nginx sends them. (Netty's object codec, used before,
 * sent an empty DATA frame after every answer to end its stream: a frame, a flow-control turn and
 * nine bytes per answer for nothing.) Interim answers (100, 103) go out at once, without
 * END_STREAM. The fields are RFC 9113's: names lower-cased (the common ones from constants, no
 * copy), the connection-specific ones (section 8.2.2) left out.
 */
final class Http2Answers extends ChannelOutboundHandlerAdapter {

  /** A HEADERS or DATA frame without END_STREAM, not written yet; and the promise of its write. */
  private Object held;
  private ChannelPromise heldPromise;

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpResponse head) {
      int code = head.status().code();
      Http2Headers fields = Http2Fields.of(head.headers(), head.status().codeAsText());
      if (code >= 100 && code < 200 && code != 101) {
        writeHeld(ctx);
        ReferenceCountUtil.release(msg);
        ctx.write(new DefaultHttp2HeadersFrame(fields, false), promise);
        return;
      }
      if (head instanceof FullHttpResponse full) {
        hold(ctx, new DefaultHttp2HeadersFrame(fields, false), ctx.voidPromise());
        end(ctx, full, promise);
      } else {
        hold(ctx, new DefaultHttp2HeadersFrame(fields, false), promise);
      }
    } else if (msg instanceof LastHttpContent last) {
      end(ctx, last, promise);
    } else if (msg instanceof HttpContent content) {
      hold(ctx, new DefaultHttp2DataFrame(content.content(), false), promise);
    } else {
      writeHeld(ctx);
      ctx.write(msg, promise);
    }
  }

  /** The answer's end: its last content, and its trailers if any. The held frame ends the stream if it can. */
  private void end(ChannelHandlerContext ctx, LastHttpContent last, ChannelPromise promise) {
    HttpHeaders trailers = last.trailingHeaders();
    boolean hasTrailers = !trailers.isEmpty();
    if (last.content().isReadable()) {
      writeHeld(ctx);
      writeData(ctx, last.content(), !hasTrailers, hasTrailers ? ctx.voidPromise() : promise);
    } else {
      last.release();
      if (!hasTrailers) {
        Object frame = held == null ? new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true) : ended(held);
        ChannelPromise p = merged(ctx, heldPromise, promise);
        held = null;
        heldPromise = null;
        writeFrame(ctx, frame, p);
        return;
      }
      writeHeld(ctx);
    }
    if (hasTrailers) {
      ctx.write(new DefaultHttp2HeadersFrame(Http2Fields.of(trailers, null), true), promise);
    }
  }

  /** {@code frame} again, with END_STREAM. */
  private static Object ended(Object frame) {
    if (frame instanceof Http2HeadersFrame h) {
      return new DefaultHttp2HeadersFrame(h.headers(), true);
    }
    return new DefaultHttp2DataFrame(((Http2DataFrame) frame).content(), true);
  }

  /** One promise for one write that stands for two. */
  private static ChannelPromise merged(ChannelHandlerContext ctx, ChannelPromise first, ChannelPromise second) {
    if (first == null || first.isVoid()) {
      return second;
    }
    if (second.isVoid()) {
      return first;
    }
    ChannelPromise both = ctx.newPromise();
    both.addListener(new PromiseNotifier<>(first, second));
    return both;
  }

  private void hold(ChannelHandlerContext ctx, Object frame, ChannelPromise promise) {
    writeHeld(ctx);
    held = frame;
    heldPromise = promise;
  }

  private void writeHeld(ChannelHandlerContext ctx) {
    if (held != null) {
      Object frame = held;
      ChannelPromise p = heldPromise;
      held = null;
      heldPromise = null;
      writeFrame(ctx, frame, p);
    }
  }

  /** The largest DATA frame written: HTTP/2's default frame size (RFC 9113 section 4.2). */
  static final int SLICE = 16 * 1024;

  private static void writeFrame(ChannelHandlerContext ctx, Object frame, ChannelPromise p) {
    if (frame instanceof Http2DataFrame d) {
      writeData(ctx, d.content(), d.isEndStream(), p);
    } else {
      ctx.write(frame, p);
    }
  }

  /**
   * Body bytes as DATA frames of at most {@link #SLICE} bytes, the last one with {@code end}.
   * Each frame's write completes on its own as the client's window lets it out, so a client that
   * reads slowly but steadily is seen to take bytes at least every 16 KiB (what the idle sweep
   * counts as progress: attack s16 F2; a backend read of 64 KiB was one write before). The wire
   * is the same: Netty cut frames at the peer's frame size anyway (nginx's http2_chunk_size is 8k).
   */
  private static void writeData(ChannelHandlerContext ctx, io.netty.buffer.ByteBuf content, boolean end, ChannelPromise p) {
    int n = content.readableBytes();
    if (n <= SLICE) {
      ctx.write(new DefaultHttp2DataFrame(content, end), p);
      return;
    }
    int at = content.readerIndex();
    int stop = at + n;
    try {
      for (; stop - at > SLICE; at += SLICE) {
        ctx.write(new DefaultHttp2DataFrame(content.retainedSlice(at, SLICE), false), ctx.voidPromise());
      }
      ctx.write(new DefaultHttp2DataFrame(content.retainedSlice(at, stop - at), end), p);
    } finally {
      content.release();
    }
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    writeHeld(ctx);
    ctx.flush();
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    writeHeld(ctx); // (as if it had not been held: written, then the stream reset if still open)
    ctx.close(promise);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    drop();
  }

  private void drop() {
    if (held != null) {
      ReferenceCountUtil.release(held);
      ChannelPromise p = heldPromise;
      held = null;
      heldPromise = null;
      if (!p.isVoid()) {
        p.tryFailure(new java.nio.channels.ClosedChannelException());
      }
    }
  }
}
