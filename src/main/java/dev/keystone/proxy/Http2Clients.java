package dev.keystone.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;

/**
 * HTTP/2 on a client connection whose TLS handshake chose {@code h2} (ALPN): Netty's frame codec
 * and one child channel per stream, each served like an HTTP/1.1 request
 * ({@link Http2Requests}, then the same {@link ClientConnection} and interceptor chain).
 *
 * <p>The limits (RFC 9113's and the known floods): at most {@link #MAX_CONCURRENT_STREAMS}
 * streams at once; a header block at most the configured {@code max_header_size} (beyond it the
 * stream is answered 431; far beyond it, or a CONTINUATION run that does not end, the connection
 * goes away); a client that resets streams faster than 200 per 30 seconds (rapid reset,
 * CVE-2023-44487), or makes the gateway reset them as fast (CVE-2025-55163), or sends empty DATA
 * frames in a row, loses the connection; pings and settings acknowledged only while the client
 * reads them. Flow control gives each stream a 64 KiB window that is opened again only as its
 * body is taken, so a paused upload holds at most that much.
 */
final class Http2Clients {

  static final String CODEC = "keystone-h2-codec";
  /** As nginx's {@code http2_max_concurrent_streams} (128) and Go's (250), a little lower. */
  static final int MAX_CONCURRENT_STREAMS = 100;
  /** Control frames (ping and settings acknowledgements, resets) queued for a client that does not read. */
  static final int MAX_QUEUED_CONTROL_FRAMES = 1000;

  /**
   * Answer fields HPACK never adds to its table (RFC 7541 section 7.1.3): a cookie, which a party
   * that can put values of its own on the connection could otherwise guess from the encoded sizes,
   * and the request id, new for every answer (in the table it only pushed out the entries worth
   * keeping: evictions were about a quarter of HPACK's encoding time in the HTTP/2 profile).
   */
  static final io.netty.handler.codec.http2.Http2HeadersEncoder.SensitivityDetector NEVER_INDEXED = (name, value) ->
      io.netty.util.AsciiString.contentEqualsIgnoreCase(name, "set-cookie")
          || io.netty.util.AsciiString.contentEqualsIgnoreCase(name, "x-request-id");

  private Http2Clients() {
  }

  /**
   * Makes {@code ch} (after its handshake) an HTTP/2 connection whose streams get
   * {@code streams}' handlers. {@code gate} comes first: reads stop while the client does not
   * take what is written to it.
   */
  static void install(Channel ch, ChannelHandler gate, int maxHeaderListSize, long shutdownMillis, ChannelHandler streams) {
    ChannelPipeline p = ch.pipeline();
    p.addLast(ClientConnections.CHANNEL, gate);
    io.netty.handler.codec.http2.Http2FrameCodec codec = new Builder()
        .initialSettings(Http2Settings.defaultSettings()
            .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
            .maxHeaderListSize(maxHeaderListSize))
        .validateHeaders(true)
        .headerSensitivityDetector(NEVER_INDEXED)
        .encoderEnforceMaxQueuedControlFrames(MAX_QUEUED_CONTROL_FRAMES)
        .decoderEnforceMaxConsecutiveEmptyDataFrames(2)
        // A close (the gateway stopping) sends GOAWAY and waits for the open streams to end, for
        // up to timeouts.shutdown: the builder's default of 0 cut them at once. (It bounds the
        // close after a connection error too, for a client that does not read its GOAWAY.)
        .gracefulShutdownTimeoutMillis(shutdownMillis)
        .build();
    // Netty applies the stream limit once the client acknowledges the SETTINGS that state it: a
    // client that never does would open streams without limit. Enforced from the first frame, as
    // nginx and Go do (a stream beyond it is refused, and may be retried).
    codec.connection().remote().maxActiveStreams(MAX_CONCURRENT_STREAMS);
    // Streams' answers come from many backend reads, each ending in a flush: without this, every
    // answer was its own TLS record and system call (a third of the loop's time in send with 16
    // streams a connection). Flushes asked for in one event-loop turn go out as one.
    p.addLast(new io.netty.handler.flush.FlushConsolidationHandler(
        io.netty.handler.flush.FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
    p.addLast(Http2FloodGuard.NAME, new Http2FloodGuard(codec));
    p.addLast(CODEC, codec);
    p.addLast(new Http2MultiplexHandler(streams));
    p.addLast(LastResort.INSTANCE);
  }

  /**
   * Last in an HTTP/2 connection's pipeline: what the codec reports after it has dealt with it (a
   * connection error it answered with GOAWAY, a reset socket) ends here, logged in one line at
   * FINE. Netty's own tail logged each with a warning and its stack, 4 KB a connection, so any
   * client could flood the log cheaply (attack s14-3).
   */
  @ChannelHandler.Sharable
  static final class LastResort extends io.netty.channel.ChannelInboundHandlerAdapter {
    static final LastResort INSTANCE = new LastResort();

    @Override
    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
      Exchange.LOG.fine(() -> "HTTP/2 connection " + ctx.channel().remoteAddress() + ": " + cause);
      if (io.netty.handler.codec.http2.Http2CodecUtil.getEmbeddedHttp2Exception(cause) == null) {
        ctx.close(); // (an HTTP/2 error: the codec sends its GOAWAY right after this, then closes)
      }
    }
  }

  /**
   * Netty's builder, whose codec answers a header block beyond the limit with the request id the
   * gateway gives every answer (X-Request-ID) and an access-log line (attack s14-4: Netty's bare
   * 431 had neither, and nothing was logged). The stream has no request then (its head was never
   * decoded), so no tenant or path either.
   */
  private static final class Builder extends Http2FrameCodecBuilder {
    Builder() {
      server(true);
    }

    @Override
    protected io.netty.handler.codec.http2.Http2FrameCodec build(io.netty.handler.codec.http2.Http2ConnectionDecoder decoder,
        io.netty.handler.codec.http2.Http2ConnectionEncoder encoder, Http2Settings initialSettings) {
      io.netty.handler.codec.http2.Http2FrameCodec codec = new io.netty.handler.codec.http2.Http2FrameCodec(encoder,
          decoder, initialSettings, decoupleCloseAndGoAway(), flushPreface()) {
        @Override
        protected void onConnectionError(io.netty.channel.ChannelHandlerContext ctx, boolean outbound, Throwable cause,
            io.netty.handler.codec.http2.Http2Exception http2Ex) {
          // The close after a connection error's GOAWAY lingers: a client still sending frames
          // got a reset that destroyed the GOAWAY and the answers it had not read (attack s15
          // F2). (A graceful close does not: the client closes once its streams are done.)
          ClientConnections.lingerOnClose(ctx.channel());
          super.onConnectionError(ctx, outbound, cause, http2Ex);
        }

        @Override
        protected void handleServerHeaderDecodeSizeError(io.netty.channel.ChannelHandlerContext ctx,
            io.netty.handler.codec.http2.Http2Stream stream) {
          // Headers only: Netty resets the stream right after this (a body would be dropped).
          String id = RequestIds.generate();
          io.netty.handler.codec.http2.Http2Headers h = new io.netty.handler.codec.http2.DefaultHttp2Headers()
              .status("431").set("x-request-id", id);
          encoder().writeHeaders(ctx, stream.id(), h, 0, true, ctx.newPromise());
          AccessLog.refused(431, 0, id, ctx.channel().remoteAddress(), "HTTP/2 header list above max_header_size");
        }
      };
      codec.gracefulShutdownTimeoutMillis(gracefulShutdownTimeoutMillis());
      return codec;
    }
  }

  /**
   * Closes {@code ch} after its answer was written whole. A stream whose request has not all come
   * is reset with NO_ERROR (RFC 9113 section 8.1: the client stops sending, and keeps the answer);
   * Netty's close sent CANCEL, which lets a client discard it (attack s16 F3). That reset closes
   * the stream, so the close sends no other.
   */
  static void closeAnswered(Channel ch) {
    if (ch instanceof Http2StreamChannel s && s.stream().state().remoteSideOpen()) {
      ch.writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2ResetFrame(io.netty.handler.codec.http2.Http2Error.NO_ERROR));
    }
    ch.close();
  }

  /** Whether {@code ch} is one stream of an HTTP/2 connection (not a connection of its own). */
  static boolean isStream(Channel ch) {
    return ch instanceof Http2StreamChannel;
  }

  /** Whether {@code ch} is a client connection speaking HTTP/2. */
  static boolean isHttp2(Channel ch) {
    return ch.pipeline().get(CODEC) != null;
  }
}
