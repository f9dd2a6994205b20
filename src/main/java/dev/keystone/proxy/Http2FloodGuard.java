package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;

/**
 * Watches an HTTP/2 client's frames on their way to Netty's codec (without touching the bytes) for
 * what the codec lets through: a header block continued by more than {@link #MAX_CONTINUATIONS}
 * CONTINUATION frames. The codec bounds a header block by its size only, so empty CONTINUATION
 * frames never end one: a client sent 90 million in ten seconds, a core busy all along, and the
 * connection was cut only by a deadline, without GOAWAY (attack s14-2). A real header block needs
 * a few (16 KiB each at the default frame size). Beyond it the connection goes away with
 * ENHANCE_YOUR_CALM, through the codec.
 */
final class Http2FloodGuard extends ChannelInboundHandlerAdapter {

  static final String NAME = "keystone-h2-flood-guard";
  static final int MAX_CONTINUATIONS = 32;
  private static final int PREFACE = 24;
  private static final int HEADERS = 0x1;
  private static final int PUSH_PROMISE = 0x5;
  private static final int CONTINUATION = 0x9;
  private static final int END_HEADERS = 0x4;

  private final Http2ConnectionHandler codec;
  /** Preface bytes still to pass. */
  private int preface = PREFACE;
  /** The frame header being read, and how much of it has been. */
  private final byte[] head = new byte[9];
  private int headRead;
  /** Payload bytes of the current frame still to pass. */
  private long payloadLeft;
  /** CONTINUATION frames in the header block open now; -1: none open. */
  private int continuations = -1;
  private boolean tripped;

  Http2FloodGuard(Http2ConnectionHandler codec) {
    this.codec = codec;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (tripped) {
      io.netty.util.ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof ByteBuf b && !scan(b)) {
      tripped = true;
      b.release();
      ChannelHandlerContext codecCtx = ctx.pipeline().context(codec);
      if (codecCtx != null) {
        codec.onError(codecCtx, false, Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM,
            "more than %d CONTINUATION frames in one header block", MAX_CONTINUATIONS));
      } else {
        ctx.close();
      }
      return;
    }
    ctx.fireChannelRead(msg);
  }

  /** Walks the frame boundaries in {@code b}; false once the limit is passed. */
  private boolean scan(ByteBuf b) {
    int i = b.readerIndex();
    int end = b.writerIndex();
    while (i < end) {
      if (preface > 0) {
        int n = Math.min(preface, end - i);
        preface -= n;
        i += n;
      } else if (payloadLeft > 0) {
        long n = Math.min(payloadLeft, end - i);
        payloadLeft -= n;
        i += (int) n;
      } else {
        head[headRead++] = b.getByte(i++);
        if (headRead == head.length) {
          headRead = 0;
          payloadLeft = ((head[0] & 0xffL) << 16) | ((head[1] & 0xff) << 8) | (head[2] & 0xff);
          if (!frame(head[3] & 0xff, head[4] & 0xff)) {
            return false;
          }
        }
      }
    }
    return true;
  }

  private boolean frame(int type, int flags) {
    if (type == HEADERS || type == PUSH_PROMISE) {
      continuations = (flags & END_HEADERS) != 0 ? -1 : 0;
    } else if (type == CONTINUATION && continuations >= 0) {
      if (++continuations > MAX_CONTINUATIONS) {
        return false;
      }
      if ((flags & END_HEADERS) != 0) {
        continuations = -1;
      }
    }
    return true;
  }
}
