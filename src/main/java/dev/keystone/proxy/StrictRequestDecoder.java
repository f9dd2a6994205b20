package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.HttpServerConnection;
import io.vertx.core.http.impl.HttpUtils;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.http.impl.headers.HeadersMultiMap;

import java.util.List;

/**
 * Vert.x's HTTP/1 request decoder, made strict where a proxy must be (RFC 9112): a request line
 * whose target holds anything but visible ASCII (a NUL, a control character, a raw non-ASCII
 * byte) or whose version is not exactly HTTP/1.0 or HTTP/1.1; a request with both Content-Length
 * and Transfer-Encoding: chunked; and a Content-Length that is not plain digits or comes twice
 * all fail decoding and are answered 400 (505 for the version). Netty's defaults accept such
 * targets, drop Content-Length next to chunked, read {@code +42} as 42, and for HTTP/1.0 take the
 * first of two different Content-Lengths; the next hop may read any of them differently. The
 * decoder fixes framing, so these checks must happen here: afterwards the evidence is gone.
 *
 * <p>Vert.x offers no option for this, so the decoder is swapped in the connection's Netty
 * pipeline when the connection opens, before any byte is read.
 */
final class StrictRequestDecoder extends VertxHttpRequestDecoder {

  static final String NAME = "httpDecoder";

  /** A request line naming a protocol version this gateway does not speak. */
  static final class UnsupportedVersion extends IllegalArgumentException {
    UnsupportedVersion(String version) {
      super("unsupported protocol version '" + RequestSyntax.printable(version) + "'");
    }
  }

  /** Content-Length fields of the request being decoded, counted from the wire. */
  private int contentLengthFields;
  /** Whether bytes behind a WebSocket handshake are passed on undecoded (see {@link #decode}). */
  private final boolean handshakes;
  /** Bytes are passed on as they are: they follow a handshake and may be the tunnel's. */
  private boolean raw;

  StrictRequestDecoder(HttpServerOptions options) {
    this(options, false);
  }

  /** @param handshakes whether bytes behind a WebSocket handshake are passed on undecoded (Netty clients) */
  StrictRequestDecoder(HttpServerOptions options, boolean handshakes) {
    super(options);
    this.handshakes = handshakes;
  }

  /**
   * After a WebSocket handshake (the head of a request without a body), the bytes that follow
   * are not decoded: they are the tunnel's first bytes if the backend switches protocols (RFC
   * 6455 has clients wait for the 101, but other clients do not), and a pipelined request the
   * gateway cannot trust if it does not. They are passed on as they come (plain
   * {@link ByteBuf}s) until {@link #decodeAgain}; the request framing reader before this decoder
   * stops following the connection at the same moment ({@link ChunkedFraming#off}).
   */
  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    if (raw) {
      if (in.isReadable()) {
        out.add(in.readRetainedSlice(in.readableBytes()));
      }
      return;
    }
    int before = out.size();
    super.decode(ctx, in, out);
    if (handshakes && out.size() == before + 2 && out.get(before + 1) == LastHttpContent.EMPTY_LAST_CONTENT
        && out.get(before) instanceof HttpRequest r && r.decoderResult().isSuccess()
        && WebSocketTunnel.isHandshake(r.method(), r.protocolVersion(), r.headers(), false)) {
      raw = true;
      if (ctx.pipeline().get(ChunkedFraming.NAME) instanceof ChunkedFraming framing) {
        framing.off();
      }
    }
  }

  /** Whether bytes are passed on undecoded now (after a handshake: see {@link #decode}). */
  boolean raw() {
    return raw;
  }

  /** The handshake was refused and nothing followed it: the connection is HTTP again. */
  void decodeAgain(ChannelPipeline pipeline) {
    raw = false;
    if (pipeline.get(ChunkedFraming.NAME) instanceof ChunkedFraming framing) {
      framing.on();
    }
  }

  @Override
  protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
    AsciiString name = super.splitHeaderName(sb, start, length);
    if (length == 14 && name.contentEqualsIgnoreCase(HttpHeaderNames.CONTENT_LENGTH)) {
      contentLengthFields++;
    }
    return name;
  }

  @Override
  protected boolean isContentAlwaysEmpty(HttpMessage msg) {
    if (contentLengthFields > 1) {
      throw new IllegalArgumentException("several Content-Length fields");
    }
    return super.isContentAlwaysEmpty(msg);
  }

  /** Vert.x's checks of every header, and Content-Length as RFC 9112 writes it: digits only. */
  private static void validate(CharSequence name, CharSequence value) {
    HttpUtils.validateHeader(name, value);
    if (name.length() == 14 && AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONTENT_LENGTH)) {
      String v = value.toString();
      boolean digits = !v.isEmpty() && v.length() <= 18;
      for (int i = 0; digits && i < v.length(); i++) {
        digits = v.charAt(i) >= '0' && v.charAt(i) <= '9';
      }
      if (!digits) {
        throw new IllegalArgumentException("invalid Content-Length '" + RequestSyntax.printable(v) + "'");
      }
    }
  }

  /**
   * RFC 9112 section 3: method, target and version are separated by exactly one SP. The decoder
   * behind skips any run of whitespace; a server that does not would split the line elsewhere.
   */
  @Override
  protected String splitSecondWordInitialLine(byte[] ascii, int start, int length) {
    requireOneSpaceBefore(ascii, start);
    return super.splitSecondWordInitialLine(ascii, start, length);
  }

  @Override
  protected String splitThirdWordInitialLine(byte[] ascii, int start, int length) {
    requireOneSpaceBefore(ascii, start);
    return super.splitThirdWordInitialLine(ascii, start, length);
  }

  private static void requireOneSpaceBefore(byte[] ascii, int start) {
    if (start < 2 || ascii[start - 1] != ' ' || ascii[start - 2] == ' ' || ascii[start - 2] == '\t') {
      throw new IllegalArgumentException("malformed request line (the parts are not separated by one space)");
    }
  }

  @Override
  protected HttpMessage createMessage(String[] initialLine) {
    String version = initialLine[2];
    if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
      // HTTP/2.0 on an HTTP/1 connection is a version we do not speak (505); anything else is
      // not a request line at all (a space or tab in the target splits it wrongly): 400.
      if (version.length() == 8 && version.startsWith("HTTP/") && Character.isDigit(version.charAt(5))
          && version.charAt(6) == '.' && Character.isDigit(version.charAt(7))) {
        throw new UnsupportedVersion(version);
      }
      throw new IllegalArgumentException("malformed request line (version '" + RequestSyntax.printable(version) + "')");
    }
    int bad = RequestSyntax.firstInvalidTargetChar(initialLine[1]);
    if (bad >= 0) {
      throw new IllegalArgumentException("request target has a forbidden character 0x"
          + Integer.toHexString(initialLine[1].charAt(bad)) + " at " + bad);
    }
    contentLengthFields = 0;
    return new DefaultHttpRequest(HttpVersion.valueOf(version), HttpMethod.valueOf(initialLine[0]), initialLine[1],
        HeadersMultiMap.httpHeaders(StrictRequestDecoder::validate));
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
