package dev.keystone.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.impl.headers.HeadersMultiMap;

import java.util.Map;

/**
 * The request of one HTTP/2 stream as the HTTP/1.1 side of the gateway reads it: the HEADERS
 * frame becomes a request head, DATA frames its body, trailing HEADERS its trailers. From here on
 * a stream is served by the same {@link ClientConnection} and interceptor chain as an HTTP/1.1
 * request.
 *
 * <p>The same rules as for HTTP/1.1 apply before anything is passed on ({@link StrictRequestDecoder}):
 * header names are tokens, values have no control characters (HPACK carries any byte, and a CR
 * or LF forwarded to an HTTP/1.1 backend would split its header block), the target is an
 * origin-form path of RFC 3986's characters. {@code :authority} becomes the Host; a Host header
 * that says otherwise is refused (RFC 9113 section 8.3.1: a proxy must not pick one). A request
 * that breaks a rule reaches the chain as a failed decoding and is answered 400 on its stream,
 * which then closes; the connection and its other streams go on. Netty's codec has already
 * refused connection-specific headers, misplaced pseudo-headers, a header list beyond the limit
 * and a body longer or shorter than its Content-Length.
 */
final class Http2Requests extends ChannelInboundHandlerAdapter {

  static final String NAME = "keystone-h2-requests";

  private boolean headRead;
  /** The request failed to decode: what its stream still sends is dropped. */
  private boolean failed;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (failed) {
      ReferenceCountUtil.release(msg);
    } else if (msg instanceof Http2HeadersFrame f) {
      ctx.fireChannelRead(headRead ? trailers(f) : head(f));
    } else if (msg instanceof Http2DataFrame d) {
      // The frame's buffer passes to the content (no copy): whoever takes the content releases it.
      ctx.fireChannelRead(d.isEndStream() ? new DefaultLastHttpContent(d.content()) : new DefaultHttpContent(d.content()));
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  private Object head(Http2HeadersFrame frame) {
    headRead = true;
    try {
      return request(frame.headers(), frame.isEndStream());
    } catch (IllegalArgumentException e) {
      failed = true;
      DefaultFullHttpRequest placeholder = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/",
          Unpooled.EMPTY_BUFFER, HeadersMultiMap.httpHeaders(), HeadersMultiMap.httpHeaders());
      placeholder.setDecoderResult(DecoderResult.failure(e));
      return placeholder;
    }
  }

  /** The request {@code h} describes; IllegalArgumentException says why there is none. */
  static HttpRequest request(Http2Headers h, boolean endStream) {
    CharSequence method = h.method();
    CharSequence path = h.path();
    if (method == null || h.scheme() == null) {
      throw new IllegalArgumentException("a request without :method or :scheme");
    }
    if (HttpMethod.CONNECT.asciiName().contentEquals(method)) {
      throw new IllegalArgumentException("CONNECT is not served");
    }
    String target = path == null ? "" : path.toString();
    boolean asterisk = target.equals("*") && HttpMethod.OPTIONS.asciiName().contentEquals(method);
    if (!asterisk && (target.isEmpty() || target.charAt(0) != '/')) {
      throw new IllegalArgumentException("the :path is not an origin-form target");
    }
    int bad = RequestSyntax.firstInvalidTargetChar(target);
    if (bad >= 0) {
      throw new IllegalArgumentException("the :path has a forbidden character 0x" + Integer.toHexString(target.charAt(bad))
          + " at " + bad);
    }
    String name = method.toString();
    if (!RequestSyntax.isToken(name)) {
      throw new IllegalArgumentException("the :method is not a token");
    }
    HttpHeaders headers = HeadersMultiMap.httpHeaders(StrictRequestDecoder::validate);
    String authority = h.authority() == null ? null : h.authority().toString();
    String host = null;
    StringBuilder cookies = null;
    for (Map.Entry<CharSequence, CharSequence> e : h) {
      CharSequence n = e.getKey();
      if (n.length() > 0 && n.charAt(0) == ':') {
        continue;
      }
      String value = e.getValue().toString();
      if (io.netty.util.AsciiString.contentEquals(n, "host")) {
        if (host != null || (authority != null && !authority.equalsIgnoreCase(value))) {
          throw new IllegalArgumentException("a Host header that is not the :authority");
        }
        host = value;
      } else if (io.netty.util.AsciiString.contentEquals(n, "cookie")) {
        // HTTP/2 may split cookies into several fields; HTTP/1.1 has one (RFC 9113 section 8.2.3).
        cookies = cookies == null ? new StringBuilder(value) : cookies.append("; ").append(value);
      } else {
        headers.add(n.toString(), value);
      }
    }
    if (authority != null || host != null) {
      headers.set("Host", authority != null ? authority : host);
    }
    if (cookies != null) {
      headers.set("Cookie", cookies.toString());
    }
    HttpMethod m = HttpMethod.valueOf(name);
    if (endStream) {
      return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, m, target, Unpooled.EMPTY_BUFFER, headers,
          HeadersMultiMap.httpHeaders());
    }
    if (!headers.contains("Content-Length")) {
      // A body without a declared length: the HTTP/1.1 side reads it as chunked (it ends with the stream).
      headers.set("Transfer-Encoding", "chunked");
    }
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, m, target, headers);
  }

  /** Trailing HEADERS: the body's end, with its trailers (pseudo-headers have no place there). */
  private Object trailers(Http2HeadersFrame frame) {
    HttpHeaders trailers = HeadersMultiMap.httpHeaders(StrictRequestDecoder::validate);
    DefaultLastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, trailers);
    try {
      for (Map.Entry<CharSequence, CharSequence> e : frame.headers()) {
        if (e.getKey().length() > 0 && e.getKey().charAt(0) == ':') {
          throw new IllegalArgumentException("a pseudo-header in trailers");
        }
        trailers.add(e.getKey().toString(), e.getValue().toString());
      }
    } catch (IllegalArgumentException e) {
      failed = true;
      last.setDecoderResult(DecoderResult.failure(e));
    }
    return last;
  }
}
