package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.nio.charset.StandardCharsets;

/**
 * Reads the chunk-size lines of chunked request bodies as RFC 9112 section 7.1 writes them,
 * before the HTTP decoder sees them. Netty's decoder reads {@code 100000005} as 5 (its int wraps),
 * and takes {@code 5 junk}, {@code " 5"} or a broken extension for 5: a server in front of the
 * gateway that reads the size right would see a different request boundary, which is how a
 * request is smuggled. A line that breaks the rule reaches the decoder as {@code zz}, which it
 * refuses (400, connection closed), and nothing after it is passed on.
 *
 * <p>To know where chunk-size lines are it follows the framing of each request on the
 * connection: the head (for {@code Transfer-Encoding} and {@code Content-Length}), then the body.
 * Heads are only looked at; a size line is held back until it is complete and checked. The
 * decoder itself refuses every framing this class would have to guess at (both framing headers,
 * several lengths, other codings), so following it here is simple. A connection that becomes a
 * WebSocket tunnel is left alone ({@link #off}).
 */
final class ChunkedFraming extends ChannelInboundHandlerAdapter {

  static final String NAME = "keystone-chunked-framing";
  /** A chunk-size line (size and extensions) longer than this is refused. */
  static final int MAX_SIZE_LINE = 1024;

  private enum State { HEAD, FIXED, SIZE_LINE, DATA, DATA_CR, DATA_LF, TRAILERS, BROKEN, OFF }


  private State state = State.HEAD;
  /** The current head or trailer line, as far as it matters (its start, for the two headers). */
  private final StringBuilder line = new StringBuilder(64);
  private boolean lineTooLong;
  private boolean headStarted;
  private boolean chunked;
  private long contentLength;
  private long remaining;
  /** The chunk-size line held back until it is whole. */
  private final StringBuilder sizeLine = new StringBuilder(16);

  /** Stops following the framing: the connection is a tunnel now. */
  void off() {
    state = State.OFF;
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
      while (i < end && brokenAt < 0 && state != State.OFF) {
        switch (state) {
          case HEAD, TRAILERS -> {
            byte b = in.getByte(i++);
            if (b == '\n') {
              endOfLine();
            } else if (line.length() < 256) {
              line.append((char) (b & 0xff));
            } else {
              lineTooLong = true;
            }
          }
          case FIXED, DATA -> {
            int n = (int) Math.min(remaining, end - i);
            i += n;
            remaining -= n;
            if (remaining == 0) {
              state = state == State.FIXED ? State.HEAD : State.DATA_CR;
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
        ctx.fireChannelRead(Unpooled.copiedBuffer("zz\r\n", StandardCharsets.ISO_8859_1)); // the decoder refuses it
        return;
      }
      if (end > passStart) {
        ctx.fireChannelRead(in.retainedSlice(passStart, end - passStart));
      }
    } finally {
      in.release();
    }
  }

  /** A head or trailer line ended (without its LF). */
  private void endOfLine() {
    int n = line.length();
    if (n > 0 && line.charAt(n - 1) == '\r') {
      line.setLength(--n);
    }
    if (state == State.TRAILERS) {
      if (n == 0) {
        state = State.HEAD;
      }
      line.setLength(0);
      return;
    }
    if (n == 0 && !lineTooLong) {
      if (!headStarted) {
        return; // empty lines before a request line are skipped, as the decoder does
      }
      headEnded();
    } else if (!headStarted) {
      headStarted = true; // the request line
    } else if (!lineTooLong) {
      header(line.toString());
    }
    line.setLength(0);
    lineTooLong = false;
  }

  private void header(String h) {
    int colon = h.indexOf(':');
    if (colon <= 0) {
      return;
    }
    String name = h.substring(0, colon).trim();
    String value = h.substring(colon + 1).trim();
    if (name.equalsIgnoreCase("transfer-encoding")) {
      String v = value.toLowerCase(java.util.Locale.ROOT);
      chunked = v.equals("chunked") || v.endsWith(",chunked") || v.endsWith(" chunked");
    } else if (name.equalsIgnoreCase("content-length")) {
      try {
        contentLength = Long.parseLong(value);
      } catch (NumberFormatException e) {
        contentLength = 0; // the decoder refuses it
      }
    }
  }

  private void headEnded() {
    headStarted = false;
    if (chunked) {
      state = State.SIZE_LINE;
    } else if (contentLength > 0) {
      state = State.FIXED;
      remaining = contentLength;
    } else {
      state = State.HEAD;
    }
    chunked = false;
    contentLength = 0;
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
    } else {
      state = State.DATA;
      remaining = size;
    }
    return true;
  }
}
