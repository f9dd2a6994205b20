package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.nio.charset.StandardCharsets;

/**
 * Reads the chunk-size lines of chunked bodies as RFC 9112 section 7.1 writes them, before the
 * HTTP decoder sees them: of requests from clients, and of responses from backends
 * ({@link ResponseFraming} gives the rule of where a response's body ends). Netty's decoder reads {@code 100000005} as 5 (its int wraps),
 * and takes {@code 5 junk}, {@code " 5"} or a broken extension for 5: a server in front of the
 * gateway that reads the size right would see a different request boundary, which is how a
 * request is smuggled. A line that breaks the rule reaches the decoder as {@code zz}, which it
 * refuses (400, connection closed), and nothing after it is passed on.
 *
 * <p>To know where chunk-size lines are it follows the framing of each request on the
 * connection: the head (for {@code Transfer-Encoding} and {@code Content-Length}, read whole by
 * {@link FramingHead}: a header it missed would let a bad size line through), then the body.
 * Heads are only looked at; a size line is held back until it is complete and checked. The
 * decoder and {@link RequestGuard} refuse every framing this class would have to guess at (both
 * framing headers, several lengths, other codings), and a folded head line is refused here, so
 * following it is simple. A connection that becomes a WebSocket tunnel is left alone
 * ({@link #off}).
 */
final class ChunkedFraming extends ChannelInboundHandlerAdapter {

  static final String NAME = "keystone-chunked-framing";
  /** A chunk-size line (size and extensions) longer than this is refused. */
  static final int MAX_SIZE_LINE = 1024;
  /**
   * Put where a line breaks the rules: the decoder refuses a header or trailer line without a
   * colon, and a chunk-size line that is not hex (400, connection closed).
   */
  private static final String REFUSAL = "zz\r\n";

  private enum State { HEAD, FIXED, SIZE_LINE, DATA, DATA_CR, DATA_LF, TRAILERS, BROKEN, OFF }

  /**
   * What follows a head: {@link #NONE}, a length, {@link #CHUNKED} or {@link #TO_CLOSE}. Requests
   * and responses differ (a response's framing depends on its request's method and its status).
   */
  interface BodyRule {
    long NONE = 0;
    long CHUNKED = -1;
    /** Read to the end of the connection (or a tunnel): nothing more to follow. */
    long TO_CLOSE = -2;

    long after(FramingHead head);

    /**
     * Whether a head may start now. A response may only when a request awaits it: bytes beyond
     * a finished response, or on an idle connection, would be taken for the next request's
     * answer (attack round 4, R4-4).
     */
    default boolean expectsHead() {
      return true;
    }
  }

  /** A request's body: chunked, or its Content-Length (RFC 9112 section 6.3). */
  static final BodyRule REQUESTS = head -> head.chunked() ? BodyRule.CHUNKED : head.contentLength();

  private final BodyRule rule;
  private State state = State.HEAD;
  /** The head or trailers being read. */
  private final FramingHead head;
  private long remaining;
  /** The chunk-size line held back until it is whole. */
  private final StringBuilder sizeLine = new StringBuilder(16);
  /** What the head reader made of the byte {@link #scanner} stopped at. */
  private FramingHead.Step scanned;
  private final io.netty.util.ByteProcessor scanner;

  ChunkedFraming() {
    this(REQUESTS);
  }

  ChunkedFraming(BodyRule rule) {
    this.rule = rule;
    this.head = new FramingHead(rule != REQUESTS);
    this.scanner = b -> (scanned = head.next(b)) == FramingHead.Step.MORE;
  }

  /** Stops following the framing: the connection is a tunnel now (or may become one). */
  void off() {
    state = State.OFF;
  }

  /** Follows the framing again, from a request head (a handshake was refused: see {@link StrictRequestDecoder}). */
  void on() {
    if (state == State.OFF) {
      state = State.HEAD;
      head.startHead();
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (state == State.BROKEN) {
      in.release(); // after a refused line nothing more is decoded
      return;
    }
    if (state == State.OFF) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      int end = in.writerIndex();
      int i = in.readerIndex();
      int passStart = i; // bytes from here on are passed on as they are
      int brokenAt = -1;
      String refusal = REFUSAL;
      while (i < end && brokenAt < 0 && state != State.OFF) {
        switch (state) {
          case HEAD, TRAILERS -> {
            FramingHead.Step step;
            if (state == State.HEAD && !head.started() && !rule.expectsHead()) {
              // Byte by byte until the head begins: one that begins unasked for is refused.
              step = head.next(in.getByte(i));
              if (head.started()) {
                unexpected(ctx, in, passStart, i);
                return;
              }
            } else {
              // The bytes of a head in one pass, up to the first that is not just more of it.
              int stop = in.forEachByte(i, end - i, scanner);
              if (stop < 0) {
                i = end;
                continue;
              }
              i = stop;
              step = scanned;
            }
            switch (step) {
              case MORE -> i++;
              case ENDED -> {
                i++;
                headEnded();
                if (state == State.HEAD) {
                  // A head without a body goes on now: the decoder may stop decoding behind it
                  // (a WebSocket handshake: off()), and then what follows is not to be read here.
                  ctx.fireChannelRead(in.retainedSlice(passStart, i - passStart));
                  passStart = i;
                }
              }
              case REFUSED_AT_LINE_START -> brokenAt = i;
              case REFUSED_MID_LINE -> {
                brokenAt = i;
                refusal = "\r\n" + REFUSAL; // the decoder must see a line of its own
              }
            }
          }
          case FIXED, DATA -> {
            int n = (int) Math.min(remaining, end - i);
            i += n;
            remaining -= n;
            if (remaining == 0 && state == State.FIXED) {
              state = State.HEAD;
              head.startHead();
            } else if (remaining == 0) {
              state = State.DATA_CR;
            }
          }
          case DATA_CR, DATA_LF -> {
            byte expected = state == State.DATA_CR ? (byte) '\r' : (byte) '\n';
            if (in.getByte(i) != expected) {
              brokenAt = i;
            } else {
              i++;
              state = state == State.DATA_CR ? State.DATA_LF : State.SIZE_LINE;
            }
          }
          case SIZE_LINE -> {
            if (i > passStart) { // what came before the line goes on; the line waits until whole
              ctx.fireChannelRead(in.retainedSlice(passStart, i - passStart));
            }
            boolean whole = false;
            while (i < end && !whole) {
              byte b = in.getByte(i++);
              if (b == '\n') {
                whole = true;
              } else if (sizeLine.length() >= MAX_SIZE_LINE) {
                brokenAt = i;
                break;
              } else {
                sizeLine.append((char) (b & 0xff));
              }
            }
            passStart = i;
            if (whole && !sizeLineDone(ctx)) {
              brokenAt = i;
            }
          }
          default -> i = end;
        }
      }
      if (brokenAt >= 0) {
        if (brokenAt > passStart) {
          ctx.fireChannelRead(in.retainedSlice(passStart, brokenAt - passStart));
        }
        state = State.BROKEN;
        ctx.fireChannelRead(Unpooled.copiedBuffer(refusal, StandardCharsets.ISO_8859_1));
        return;
      }
      if (end > passStart) {
        ctx.fireChannelRead(in.retainedSlice(passStart, end - passStart));
      }
    } finally {
      in.release();
    }
  }

  /**
   * A head begins that nothing asked for: what came before it goes on (it ends the last
   * message), the rest is dropped and the connection closed, so it is never reused.
   */
  private void unexpected(ChannelHandlerContext ctx, ByteBuf in, int passStart, int at) {
    state = State.BROKEN; // (channelRead releases {@code in})
    if (at > passStart) {
      ctx.fireChannelRead(in.retainedSlice(passStart, at - passStart));
    }
    ctx.close();
  }

  /** A head or the trailers ended. */
  private void headEnded() {
    if (state == State.TRAILERS) {
      state = State.HEAD;
      head.startHead();
      return;
    }
    long body = rule.after(head);
    if (body == BodyRule.CHUNKED) {
      state = State.SIZE_LINE;
    } else if (body == BodyRule.TO_CLOSE) {
      state = State.OFF;
    } else if (body > 0) {
      state = State.FIXED;
      remaining = body;
    } else {
      head.startHead();
    }
  }

  /** The held-back chunk-size line is whole: passed on if it is valid; false if it is not. */
  private boolean sizeLineDone(ChannelHandlerContext ctx) {
    String text = sizeLine.toString();
    sizeLine.setLength(0);
    long size = ChunkSizeLine.size(text);
    if (size < 0) {
      return false;
    }
    ctx.fireChannelRead(Unpooled.copiedBuffer(text + "\n", StandardCharsets.ISO_8859_1));
    if (size == 0) {
      state = State.TRAILERS;
      head.startTrailers();
    } else {
      state = State.DATA;
      remaining = size;
    }
    return true;
  }
}
