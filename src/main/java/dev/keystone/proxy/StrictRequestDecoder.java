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
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.vertx.core.http.impl.headers.HeadersMultiMap;

import java.util.List;

/**
 * Netty's HTTP/1 request decoder, made strict where a proxy must be (RFC 9112): a request line
 * whose target holds anything but visible ASCII (a NUL, a control character, a raw non-ASCII
 * byte) or whose version is not exactly HTTP/1.0 or HTTP/1.1; a request with both Content-Length
 * and Transfer-Encoding: chunked; and a Content-Length that is not plain digits or comes twice
 * all fail decoding and are answered 400 (505 for the version). Netty's defaults accept such
 * targets, drop Content-Length next to chunked, read {@code +42} as 42, and for HTTP/1.0 take the
 * first of two different Content-Lengths; the next hop may read any of them differently. The
 * decoder fixes framing, so these checks must happen here: afterwards the evidence is gone.
 */
final class StrictRequestDecoder extends HttpRequestDecoder {

  static final String NAME = "httpDecoder";

  /** A request line naming a protocol version this gateway does not speak. */
  static final class UnsupportedVersion extends IllegalArgumentException {
    UnsupportedVersion(String version) {
      super("unsupported protocol version '" + RequestSyntax.printable(version) + "'");
    }
  }

  /** Content-Length fields of the request being decoded, counted from the wire. */
  private int contentLengthFields;
  /** Bytes are passed on as they are: they follow a handshake and may be the tunnel's. */
  private boolean raw;

  /**
   * @param maxLine    the longest request line taken (414 past it)
   * @param maxHeaders the most bytes of header lines taken (431 past them)
   */
  StrictRequestDecoder(int maxLine, int maxHeaders) {
    super(new HttpDecoderConfig().setMaxInitialLineLength(maxLine).setMaxHeaderSize(maxHeaders)
        .setValidateHeaders(true));
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
    if (out.size() == before + 2 && out.get(before + 1) == LastHttpContent.EMPTY_LAST_CONTENT
        && out.get(before) instanceof HttpRequest r && r.decoderResult().isSuccess()
        && WebSocketSplice.isHandshake(r.method(), r.protocolVersion(), r.headers(), false)) {
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

  /**
   * Every header: a name that is a token, a value without control characters other than tab
   * (RFC 9110 section 5); and Content-Length as RFC 9112 writes it: digits only.
   */
  static void validate(CharSequence name, CharSequence value) {
    int bad = HttpHeaderValidationUtil.validateToken(name);
    if (bad >= 0) {
      throw new IllegalArgumentException("a header name has a forbidden character 0x"
          + Integer.toHexString(name.charAt(bad)) + " at " + bad);
    }
    bad = value == null ? -1 : firstControl(value);
    if (bad >= 0) {
      throw new IllegalArgumentException("the value of header '" + RequestSyntax.printable(name.toString())
          + "' has a forbidden character 0x" + Integer.toHexString(value.charAt(bad)) + " at " + bad);
    }
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

  /** Where {@code value} has a control character other than tab, or -1 (as a field value may not). */
  static int firstControl(CharSequence value) {
    for (int i = 0, n = value.length(); i < n; i++) {
      char c = value.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return i;
      }
    }
    return -1;
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
}
