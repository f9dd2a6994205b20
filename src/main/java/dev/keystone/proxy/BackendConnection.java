package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;

/**
 * One connection to a backend, on the event loop of the requests it serves, with at most one
 * request on it at a time. It hands the decoded response to the {@link Listener} of the request
 * it is lent to; bytes that arrive while it is lent to none (a backend's stray body after a HEAD
 * answer, an unsolicited response) close it, so they can never become the next request's answer.
 */
final class BackendConnection extends ChannelInboundHandlerAdapter {

  /** The request the connection is lent to. Every call happens on the connection's event loop. */
  interface Listener {
    /** A part of the response: head (or an interim head), content, last content. Owns {@code msg}. */
    void onResponse(HttpObject msg);

    /** The connection can take more bytes again. */
    void onWritable();

    /** What the connection had to read now was read (each {@link #onResponse} of it done). */
    void onReadComplete();

    /** The connection closed; {@code cause} when it failed (else the backend closed it). */
    void onClosed(Throwable cause);
  }

  static final String NAME = "keystone-backend";

  final Channel channel;
  private final BackendPool pool;
  private Listener listener;
  private boolean headRequest;
  private Throwable failure;
  /** Response bytes received (before decoding): whether an answer began decides retries. */
  private long received;
  /** Requests this connection carried: a reused connection is one that carried one before. */
  private int served;
  /** When it went back to the pool (nanos), for the keep-alive idle limit. */
  long idleSince;

  BackendConnection(Channel channel, BackendPool pool) {
    this.channel = channel;
    this.pool = pool;
  }

  /** Lends the connection to a request; {@code head} when it is a HEAD (its answer has no body). */
  void lend(Listener l, boolean head) {
    listener = l;
    headRequest = head;
    served++;
  }

  /**
   * Decodes responses knowing the request they answer: one at a time, so no queue of methods.
   * Netty's HttpClientCodec pairs requests and responses through a queue it polls for interim
   * answers too, so after a 103 it took the HEAD's final answer for one with a body and waited
   * for the body its Content-Length announced (attack R5-1).
   */
  final class ResponseDecoder extends io.netty.handler.codec.http.HttpResponseDecoder {
    ResponseDecoder(int maxLine, int maxHead, int maxChunk) {
      super(maxLine, maxHead, maxChunk);
    }

    /**
     * The head with Vert.x's header map (as client requests have): it is relayed to the client
     * edited in place, and the client's encoder writes that map fastest. Names must be tokens and
     * values free of control characters but tab (RFC 9110 section 5.5; attack D1-2: a bare CR
     * was relayed and read as a second, injected header by some clients): else the head fails to
     * decode and the response is refused (502), interim answers too (D1-4).
     */
    @Override
    protected io.netty.handler.codec.http.HttpMessage createMessage(String[] line) {
      return new io.netty.handler.codec.http.DefaultHttpResponse(io.netty.handler.codec.http.HttpVersion.valueOf(line[0]),
          io.netty.handler.codec.http.HttpResponseStatus.valueOf(Integer.parseInt(line[1]), line[2]),
          io.vertx.core.http.impl.headers.HeadersMultiMap.httpHeaders(ResponseDecoder::validHeader));
    }

    private static void validHeader(CharSequence name, CharSequence value) {
      if (name.length() == 0) {
        // (":status: 500" reads as an empty name: relayed, it broke the client's framing; s14-5)
        throw new IllegalArgumentException("a header with an empty name");
      }
      int bad = io.netty.handler.codec.http.HttpHeaderValidationUtil.validateToken(name);
      if (bad >= 0) {
        throw new IllegalArgumentException("a header name has a forbidden character 0x"
            + Integer.toHexString(name.charAt(bad)) + " at " + bad);
      }
      bad = value == null ? -1 : StrictRequestDecoder.firstControl(value);
      if (bad >= 0) {
        throw new IllegalArgumentException("the value of header '" + name + "' has a control character 0x"
            + Integer.toHexString(value.charAt(bad)) + " at " + bad);
      }
    }

    @Override
    protected boolean isContentAlwaysEmpty(io.netty.handler.codec.http.HttpMessage msg) {
      int code = ((io.netty.handler.codec.http.HttpResponse) msg).status().code();
      return (code >= 200 && headRequest) || super.isContentAlwaysEmpty(msg);
    }
  }

  /** Takes the connection back from its request; it carries nothing now. */
  void takeBack() {
    listener = null;
  }

  boolean reused() {
    return served > 1;
  }

  long received() {
    return received;
  }

  boolean open() {
    return channel.isActive();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    Listener l = listener;
    if (l != null) {
      l.onReadComplete(); // writes to the client, batched per read: no Vert.x needed
    }
    ctx.fireChannelReadComplete();
  }

  /** Counts what arrives before the decoder sees it. */
  final class Counter extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf b) {
        received += b.readableBytes();
      }
      ctx.fireChannelRead(msg);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Listener l = listener;
    if (l == null || !(msg instanceof HttpObject o)) {
      ReferenceCountUtil.release(msg);
      ctx.close(); // nothing was asked for: whatever this is, it is no answer to anyone
      return;
    }
    if (failure != null && msg instanceof io.netty.handler.codec.http.LastHttpContent) {
      // The decoder ends a body that ends with the close at any close, a reset too (it runs
      // after the read error, as the channel goes inactive): that end is the failure's, not
      // the backend's. The answer is cut when onClosed reports it (attack s16 F1).
      ReferenceCountUtil.release(msg);
      return;
    }
    pool.context.dispatch(() -> l.onResponse(o));
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    Listener l = listener;
    if (l != null && ctx.channel().isWritable()) {
      pool.context.dispatch(l::onWritable);
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** Closes the connection for {@code cause}, which its listener's onClosed then receives. */
  void closeFailed(Throwable cause) {
    if (!channel.eventLoop().inEventLoop()) {
      channel.eventLoop().execute(() -> closeFailed(cause));
      return;
    }
    if (failure == null) {
      failure = cause;
    }
    channel.close();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (failure == null) {
      failure = cause;
    }
    ctx.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    pool.closed(this);
    Listener l = listener;
    listener = null;
    if (l != null) {
      Throwable cause = failure;
      pool.context.dispatch(() -> l.onClosed(cause));
    }
  }
}
