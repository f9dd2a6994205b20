package dev.keystone.proxy;

import dev.keystone.model.Snapshot;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One event loop's client connections on Netty (instead of Vert.x's HTTP server): builds each
 * accepted connection's pipeline, runs the interceptor chain on each request, and stops
 * gracefully. The HTTP/1.1 pipeline, in order: {@link ClientChannel} (read gate, lingering
 * close), {@link ChunkedFraming}, {@link StrictRequestDecoder}, {@link ClientChannel.Heads},
 * {@link ResponseEncoder}, {@link ClientConnection}. On the TLS listener the handshake comes
 * first ({@link TlsHandshake}), and ALPN then picks that pipeline or HTTP/2's
 * ({@link Http2Clients}: one child channel per stream, each with {@link Http2Requests} and its own
 * {@link ClientConnection}), so both protocols meet the same chain.
 */
final class NettyClients implements ClientConnection.Server {

  private final EventLoop loop;
  /** The verticle's Vert.x context, made current for each event (see {@link #dispatch}). */
  private final io.vertx.core.internal.ContextInternal context;
  private final Supplier<Snapshot> snapshots;
  private final ClientConnections connections;
  /** The longest request line and header block taken (the decoder's limits). */
  private final int maxLine;
  private final int maxHeaders;
  private final List<Interceptor> chain;
  private final List<Interceptor> rejectChain;
  private boolean stopping;

  NettyClients(io.vertx.core.internal.ContextInternal context, Supplier<Snapshot> snapshots, ClientConnections connections,
               int maxLine, int maxHeaders, List<Interceptor> chain, List<Interceptor> rejectChain) {
    this.context = context;
    this.loop = context.nettyEventLoop();
    this.snapshots = snapshots;
    this.connections = connections;
    this.maxLine = maxLine;
    this.maxHeaders = maxHeaders;
    this.chain = chain;
    this.rejectChain = rejectChain;
  }

  /** Builds the pipeline of a connection accepted for this loop (runs on it). */
  void init(Channel ch) {
    init(ch, null);
  }

  /**
   * Builds the pipeline of a connection accepted on the TLS listener: the handshake first, with
   * the certificate for the name the client asks for ({@link TlsHandshake}), then the same
   * pipeline as in the clear.
   */
  void initSecure(Channel ch, TlsHandshake tls) {
    init(ch, tls);
  }

  private void init(Channel ch, TlsHandshake tls) {
    ChannelHandler handshake = tls == null ? null : tls.admit(ch);
    if (stopping || (tls != null && handshake == null)) {
      ch.close();
      return;
    }
    ch.config().setOption(ChannelOption.TCP_NODELAY, true);
    if (tls != null) {
      // The protocol is known once the handshake is through: ALPN's h2, else HTTP/1.1.
      ch.pipeline().addLast(TlsHandshake.NAME, handshake);
      ch.pipeline().addLast(ProtocolChoice.NAME, new ProtocolChoice());
    } else {
      http1(ch, false);
    }
    connections.opened(ch, snapshots.get().plan().headerReadNanos());
  }

  /** The HTTP/1.1 pipeline (see the class comment). */
  private void http1(Channel ch, boolean secure) {
    ClientConnection[] conn = new ClientConnection[1];
    ClientChannel gate = new ClientChannel(() -> conn[0] != null && conn[0].wantsReads());
    ResponseEncoder encoder = new ResponseEncoder();
    conn[0] = new ClientConnection(this, gate, encoder, secure);
    ChannelPipeline p = ch.pipeline();
    p.addLast(ClientConnections.CHANNEL, gate);
    p.addLast(ChunkedFraming.NAME, new ChunkedFraming());
    p.addLast(StrictRequestDecoder.NAME, new StrictRequestDecoder(maxLine, maxHeaders));
    p.addLast(ClientConnections.HEADS, new ClientChannel.Heads(gate));
    p.addLast(ResponseEncoder.NAME, encoder);
    p.addLast(ClientConnection.NAME, conn[0]);
  }

  /**
   * One stream of an HTTP/2 connection ({@link Http2Clients}): its frames become an HTTP/1.1
   * request ({@link Http2Requests}) and its answer frames again ({@link Http2Answers}), between them the same
   * {@link ClientConnection} as for HTTP/1.1. The connection counts as busy while it has a
   * stream open, so its idle deadline starts when the last one closes.
   */
  private final class Http2Streams extends io.netty.channel.ChannelInitializer<Channel> {
    @Override
    protected void initChannel(Channel stream) {
      ClientConnection[] conn = new ClientConnection[1];
      ClientChannel gate = new ClientChannel(() -> conn[0] != null && conn[0].wantsReads());
      conn[0] = new ClientConnection(NettyClients.this, gate, null, true);
      ChannelPipeline p = stream.pipeline();
      p.addLast(ClientConnections.CHANNEL, gate);
      p.addLast(Http2Requests.NAME, new Http2Requests());
      p.addLast(new Http2Answers());
      p.addLast(ClientConnection.NAME, conn[0]);
      Channel parent = stream.parent();
      connections.requestStarted(parent);
      stream.closeFuture().addListener(f -> connections.requestEnded(parent, snapshots.get().plan().idleNanos(), false));
    }
  }

  /** After the TLS handshake: the pipeline for the protocol the client and the gateway agreed on. */
  private final class ProtocolChoice extends io.netty.handler.ssl.ApplicationProtocolNegotiationHandler {
    static final String NAME = "keystone-alpn";

    ProtocolChoice() {
      super(io.netty.handler.ssl.ApplicationProtocolNames.HTTP_1_1);
    }

    @Override
    protected void configurePipeline(io.netty.channel.ChannelHandlerContext ctx, String protocol) {
      if (stopping || AcmeValidation.ACME_TLS.equals(protocol)) {
        ctx.close(); // (an ACME validation ends with its handshake)
      } else if (io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2.equals(protocol)) {
        Http2Clients.install(ctx.channel(), new ClientChannel(() -> true), maxHeaders,
            snapshots.get().plan().timeouts().shutdown().toMillis(), new Http2Streams());
      } else {
        http1(ctx.channel(), true);
      }
    }

    @Override
    protected void handshakeFailure(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
      // A failed handshake is the client's business (a scanner, a name nothing serves): no warning per connection.
      Exchange.LOG.log(java.util.logging.Level.FINE, "TLS handshake failed", cause);
      ctx.close();
    }

    @Override
    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
      Exchange.LOG.log(java.util.logging.Level.FINE, "TLS connection failed", cause);
      ctx.close();
    }
  }

  @Override
  public void request(NettyClientSide side) {
    if (!Http2Clients.isStream(side.channel())) { // (a stream counts for its connection while open: Http2Streams)
      connections.requestStarted(side.channel());
    }
    Snapshot snapshot = snapshots.get();
    Exchange ex = new Exchange(side, snapshot, side.decodeFailure() == null ? chain : rejectChain);
    ex.next(); // the error boundary: whatever an interceptor throws is answered there
  }

  @Override
  public void ended(Channel channel, boolean tunnel) {
    if (Http2Clients.isStream(channel)) {
      return;
    }
    connections.requestEnded(channel, snapshots.get().plan().idleNanos(), tunnel);
  }

  @Override
  public boolean stopping() {
    return stopping;
  }

  @Override
  public void dispatch(Runnable event) {
    context.dispatch(event);
  }

  /**
   * Stops gracefully (on this loop): idle connections close now, busy ones after their answer
   * (which says {@code Connection: close}); those still open after {@code timeoutMillis} are
   * closed. Completes once all are closed.
   */
  Future<Void> shutdown(long timeoutMillis) {
    Promise<Void> done = Promise.promise();
    loop.execute(() -> {
      stopping = true;
      List<Channel> open = new ArrayList<>(connections.open());
      if (open.isEmpty()) {
        done.tryComplete();
        return;
      }
      int[] left = {open.size()};
      for (Channel ch : open) {
        ch.closeFuture().addListener(f -> {
          if (--left[0] == 0) {
            done.tryComplete();
          }
        });
        if (ch.pipeline().get(ClientConnection.NAME) instanceof ClientConnection c) {
          c.closeWhenIdle();
        } else if (Http2Clients.isHttp2(ch)) {
          ch.close(); // GOAWAY: no new streams; the connection closes once those open have ended
        }
      }
      loop.schedule(() -> {
        for (Channel ch : open) {
          ClientConnections.forceClose(ch);
        }
      }, Math.max(1, timeoutMillis), TimeUnit.MILLISECONDS);
    });
    return done.future();
  }

  /** Closes every connection now (the server stops). */
  void closeAll() {
    loop.execute(() -> new ArrayList<>(connections.open()).forEach(ClientConnections::forceClose));
  }
}
