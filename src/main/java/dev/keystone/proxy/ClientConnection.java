package dev.keystone.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.logging.Level;

/**
 * One client connection of {@link ClientListener}: the HTTP/1.1 server side, last in the
 * channel's pipeline after the strict request decoder. Requests are answered one at a time, in
 * order. What the decoder yields for the request being answered goes to its
 * {@link NettyClientSide}; what follows it (pipelined requests) waits here, and reading stops
 * while anything waits, so a client that pipelines cannot make the gateway buffer more than one
 * socket read ahead.
 *
 * <p>Reading is on when the request being answered wants body bytes, or when its body is whole
 * and nothing waits (reading ahead notices a client that leaves); {@link ClientChannel} may hold
 * reads on top of that (a client that does not take its answers).
 */
final class ClientConnection extends ChannelInboundHandlerAdapter {

  static final String NAME = "keystone-client-connection";

  /** What the server does with the connection's requests. */
  interface Server {
    /** A request head arrived (a failed decoding included): run the chain on it. */
    void request(NettyClientSide side);

    /** A response on {@code channel} ended; {@code tunnel}: the connection became a WebSocket tunnel. */
    void ended(Channel channel, boolean tunnel);

    /** The server is stopping: connections close after their current answer. */
    boolean stopping();

    /**
     * Runs {@code event} now, as the server's own (Vert.x's context current: the chain's steps may
     * use Vert.x, and its callbacks must come back to this event loop).
     */
    void dispatch(Runnable event);
  }

  private final Server server;
  private final ClientChannel gate;
  private final ResponseEncoder encoder;
  private Channel channel;
  private NettyClientSide current;
  private final ArrayDeque<Object> queued = new ArrayDeque<>(4);
  private String clientAddress;
  /** No further request is taken: the connection closes after the current answer. */
  private boolean closing;

  /** Whether the client connected over TLS (the forwarding headers say https). */
  final boolean secure;
  /** The client's verified certificate (read once), and whether it was read. */
  private java.security.cert.X509Certificate peer;
  private boolean peerRead;

  ClientConnection(Server server, ClientChannel gate, ResponseEncoder encoder, boolean secure) {
    this.server = server;
    this.gate = gate;
    this.encoder = encoder;
    this.secure = secure;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  /** The client's IP address as text, or null: once per connection (every request logs it). */
  String clientAddress() {
    if (clientAddress == null && channel.remoteAddress() instanceof java.net.InetSocketAddress a && a.getAddress() != null) {
      clientAddress = a.getAddress().getHostAddress();
    }
    return clientAddress;
  }

  /** The TCP connection: the channel itself, or for an HTTP/2 stream its connection. */
  private Channel transport() {
    return Http2Clients.isStream(channel) ? channel.parent() : channel;
  }

  /** The server name the TLS handshake asked for, or null. */
  String serverName() {
    return secure ? transport().attr(TlsHandshake.SERVER_NAME).get() : null;
  }

  /** What the TLS handshake proved of the client (see {@link RequestHead#tlsClientAuth}), or null. */
  String clientAuth() {
    return secure ? transport().attr(TlsHandshake.CLIENT_AUTH).get() : null;
  }

  /** The client certificate the TLS handshake verified, or null. */
  java.security.cert.X509Certificate clientCertificate() {
    if (!peerRead && secure) {
      peerRead = true;
      io.netty.handler.ssl.SslHandler ssl = transport().pipeline().get(io.netty.handler.ssl.SslHandler.class);
      try {
        java.security.cert.Certificate[] chain = ssl == null ? null : ssl.engine().getSession().getPeerCertificates();
        peer = chain != null && chain.length > 0 && chain[0] instanceof java.security.cert.X509Certificate x ? x : null;
      } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
        peer = null; // no certificate (client_auth: optional, or a tenant without client_ca)
      }
    }
    return peer;
  }

  /** Whether a response written now may keep the connection open. */
  boolean keepsAlive() {
    return !closing && !server.stopping() && !heldBehindHandshake();
  }

  /**
   * Whether bytes a client sent behind a WebSocket handshake wait (undecoded: see
   * {@link StrictRequestDecoder#decode}): they go into the tunnel after a 101; after any other
   * answer they are no request the gateway can trust, and the connection closes.
   */
  private boolean heldBehindHandshake() {
    return queued.peek() instanceof io.netty.buffer.ByteBuf;
  }

  /** Whether the connection should read now (see the class comment). */
  boolean wantsReads() {
    if (closing) {
      return false;
    }
    if (current == null) {
      return queued.isEmpty();
    }
    // A request without a body is whole already (its end marker follows in the same read):
    // reading on saves turning reads off and on again for every such request.
    return current.lastReceived() || current.declaredLength() == 0 ? queued.isEmpty() : current.flowing();
  }

  /** Turns reading on or off after a change of {@link #wantsReads}. */
  void updateReads() {
    boolean want = wantsReads();
    if (!want) {
      channel.config().setAutoRead(false);
    } else if (!gate.holding() && !channel.config().isAutoRead()) {
      channel.config().setAutoRead(true);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    server.dispatch(() -> read(msg));
  }

  private void read(Object msg) {
    if (closing) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (current != null && !current.lastReceived()) {
      if (msg instanceof HttpContent c) {
        current.content(c);
      } else {
        ReferenceCountUtil.release(msg); // the decoder yields no new head inside a body
      }
      return;
    }
    if (current != null) {
      queued.add(msg);
      updateReads();
      return;
    }
    start(msg);
  }

  private void start(Object msg) {
    if (!(msg instanceof HttpRequest request)) {
      ReferenceCountUtil.release(msg); // trailing content of a request already answered
      return;
    }
    NettyClientSide side = new NettyClientSide(this, channel, request, encoder);
    current = side;
    if (!request.decoderResult().isSuccess()) {
      closing = true; // nothing after a head that failed to decode can be trusted
    }
    if (msg instanceof HttpContent c) {
      side.content(c); // a request the decoder gave whole (the placeholder of a failed one)
    }
    updateReads();
    server.request(side);
  }

  /** The answer to {@code side} ended; {@code close}: it said the connection closes. */
  void responseEnded(NettyClientSide side, boolean close) {
    server.ended(channel, false);
    if (side != current) {
      return;
    }
    if (close) {
      closing = true;
      releaseQueued();
      return; // the sink closes the channel once the answer is out
    }
    if (channel.pipeline().get(StrictRequestDecoder.NAME) instanceof StrictRequestDecoder d && d.raw()) {
      if (heldBehindHandshake()) {
        closeAfterAnswer(); // bytes came behind the refused handshake after its head was written
        return;
      }
      d.decodeAgain(channel.pipeline()); // a refused handshake with nothing behind it
    }
    if (side.lastReceived()) {
      side.discardWaiting();
      next();
    } else if (!side.dropRest()) {
      closeAfterAnswer();
    }
    // else: the rest is being dropped; bodyDone goes on
  }

  /** Closes once the answer is out, lingering: the client may still be sending (see {@link ClientChannel}). */
  private void closeAfterAnswer() {
    closing = true;
    releaseQueued();
    if (!Http2Clients.isStream(channel)) {
      ClientConnections.lingerOnClose(channel);
    }
    Http2Clients.closeAnswered(channel);
  }

  /**
   * The connection became a tunnel after {@code side}'s 101: this handler leaves the pipeline.
   * Returns what the client sent behind its handshake, for the tunnel (the caller releases it).
   */
  java.util.List<io.netty.buffer.ByteBuf> tunnel(NettyClientSide side) {
    server.ended(channel, true);
    closing = true;
    current = null;
    java.util.List<io.netty.buffer.ByteBuf> behind = new java.util.ArrayList<>(queued.size());
    Object msg;
    while ((msg = queued.poll()) != null) {
      if (msg instanceof io.netty.buffer.ByteBuf b) {
        behind.add(b);
      } else {
        ReferenceCountUtil.release(msg);
      }
    }
    return behind;
  }

  /** The body of {@code side} was read to its end. */
  void bodyDone(NettyClientSide side) {
    if (side == current && side.response().ended()) {
      next();
    }
  }

  private void next() {
    current = null;
    drainQueue();
    if (current == null && server.stopping()) {
      closing = true;
      channel.close();
      return;
    }
    updateReads();
  }

  /**
   * Hands out what waits, in order: a head starts the next request once none is being answered,
   * the chunks after it go to it; what follows its last chunk waits for its answer. (Starting a
   * request may answer it at once and come back here: each message is taken in order either way.)
   */
  private void drainQueue() {
    Object msg;
    while (!closing && (msg = queued.peek()) != null) {
      if (current == null) {
        queued.poll();
        start(msg);
      } else if (!current.lastReceived()) {
        queued.poll();
        if (msg instanceof HttpContent c) {
          current.content(c);
        } else {
          ReferenceCountUtil.release(msg); // the decoder yields no new head inside a body
        }
      } else {
        break;
      }
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    NettyClientSide c = current;
    if (c != null && ctx.channel().isWritable()) {
      server.dispatch(((NettyResponseSink) c.response())::writable);
    }
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    closing = true;
    releaseQueued();
    NettyClientSide c = current;
    current = null;
    if (c != null) {
      server.dispatch(c::channelClosed);
    }
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof io.netty.handler.codec.http2.Http2Exception) {
      // An HTTP/2 stream error (a frame the client made invalid): Netty's multiplexer resets the
      // stream right after this with the error's own code, which the codec's reset limit counts.
      // A close from here came first and reset it as CANCEL, which the limit does not count
      // (attack s14-1: a client made the gateway reset thousands of streams, each already
      // forwarded, without losing its connection). A connection error closes the connection,
      // and its streams with it. Either way the request ends by the close (channelInactive).
      Exchange.LOG.log(Level.FINE, "HTTP/2 stream failed", cause);
      return;
    }
    // A reset by the client or a failed write: the connection is over; its request ends by the
    // close (channelInactive), the one place that happens.
    Exchange.LOG.log(Level.FINE, "client connection failed", cause);
    ctx.close();
  }

  /** Closes the connection once idle (a graceful stop): now if nothing is in flight. */
  void closeWhenIdle() {
    if (current == null) {
      closing = true;
      channel.close();
    }
  }

  private void releaseQueued() {
    Object msg;
    while ((msg = queued.poll()) != null) {
      ReferenceCountUtil.release(msg);
    }
  }
}
