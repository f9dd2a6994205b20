package dev.keystone.proxy;

import dev.keystone.model.Backend;
import dev.keystone.model.UpstreamTls;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One event loop's connections to one backend: at most {@code limits.upstream_connections} open,
 * idle ones reused last-in first-out (the warmest), requests that find none free waiting in
 * order up to {@code pool_wait}. Connections live on the loop of the requests they serve, so no
 * lock and no hop between threads. Waits and idle connections are ended by {@link #sweep}, run by
 * the loop's periodic sweep: no timer per request.
 */
final class BackendPool {

  /** What a request waiting for a connection hears, once. */
  interface Acquired {
    void ready(BackendConnection c);

    /** No connection: {@code poolWait} when none came free in time (not the backend's failure). */
    void failed(Throwable cause, boolean poolWait);
  }

  /** No connection came free within {@code pool_wait}. */
  static final class PoolWaitTimeout extends RuntimeException {
    PoolWaitTimeout(int open) {
      super("no free connection within pool_wait (" + open + " busy)", null, false, false);
    }
  }

  private record Waiter(Acquired who, long deadline, long connectMillis) {
  }

  /** Equal TLS settings share one context. */
  private static final Map<UpstreamTls, SslContext> SSL = new ConcurrentHashMap<>();
  /** The codec's limits for a response head: generous, a backend is trusted more than a client. */
  private static final int MAX_STATUS_LINE = 16 * 1024;
  private static final int MAX_HEAD = 64 * 1024;

  private final EventLoop loop;
  /** Made current for every event of the pool's connections (BackendConnection): the relay may call Vert.x (on_response). */
  final io.vertx.core.internal.ContextInternal context;
  private final io.netty.channel.ChannelFactory<? extends Channel> channelType;
  private final Backend backend;
  private final ArrayDeque<BackendConnection> idle = new ArrayDeque<>();
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private int open;

  BackendPool(io.vertx.core.internal.ContextInternal context, io.netty.channel.ChannelFactory<? extends Channel> channelType,
              Backend backend) {
    this.context = context;
    this.loop = context.nettyEventLoop();
    this.channelType = channelType;
    this.backend = backend;
  }

  /**
   * A connection for one request: an idle one (unless {@code fresh}), a new one while fewer than
   * {@code max} are open (a fresh one in any case), or the next one freed within the wait.
   */
  void acquire(boolean fresh, int max, long connectMillis, long poolWaitNanos, Acquired who) {
    if (!fresh) {
      BackendConnection c;
      while ((c = idle.pollLast()) != null) {
        if (c.open()) {
          who.ready(c);
          return;
        }
      }
    }
    if (fresh || open < max) {
      connect(connectMillis, who);
      return;
    }
    waiters.add(new Waiter(who, System.nanoTime() + poolWaitNanos, connectMillis));
  }

  /**
   * As {@link #acquire} but never waits: false (and {@code who} is not called) when no connection
   * is idle and {@code max} are open. For mirror copies, which are dropped rather than queued.
   */
  boolean tryAcquire(int max, long connectMillis, Acquired who) {
    BackendConnection c;
    while ((c = idle.pollLast()) != null) {
      if (c.open()) {
        who.ready(c);
        return true;
      }
    }
    if (open < max) {
      connect(connectMillis, who);
      return true;
    }
    return false;
  }

  /** A request is done with {@code c}: pooled again when {@code clean}, else closed. */
  void release(BackendConnection c, boolean clean) {
    c.takeBack();
    if (!clean || !c.open()) {
      c.channel.close(); // closed() counts it and serves a waiter
      return;
    }
    c.channel.config().setAutoRead(true); // a relay may have held reads back (backpressure, on_response)
    Waiter w = waiters.poll();
    if (w != null) {
      w.who().ready(c);
      return;
    }
    c.idleSince = System.nanoTime();
    idle.addLast(c);
  }

  /** {@code c}'s channel closed (the backend, a failure, or this pool closed it). */
  void closed(BackendConnection c) {
    open--;
    idle.remove(c);
    Waiter w = waiters.poll();
    if (w != null) {
      connect(w.connectMillis(), w.who());
    }
  }

  /** {@code c} leaves the pool for good (it became a tunnel): counted as closed here. */
  void detach(BackendConnection c) {
    closed(c);
  }

  /** Ends waits past {@code pool_wait} and closes connections idle longer than {@code keepAliveNanos}. */
  void sweep(long now, long keepAliveNanos) {
    while (!waiters.isEmpty() && now - waiters.peek().deadline() >= 0) {
      waiters.poll().who().failed(new PoolWaitTimeout(open), true);
    }
    while (!idle.isEmpty() && now - idle.peekFirst().idleSince >= keepAliveNanos) {
      idle.pollFirst().channel.close();
    }
  }

  boolean waiting() {
    return !waiters.isEmpty();
  }

  /** Closes every idle connection (the pool is no longer used); busy ones close after their request. */
  void closeIdle() {
    while (!idle.isEmpty()) {
      idle.pollFirst().channel.close();
    }
  }

  private void connect(long connectMillis, Acquired who) {
    open++;
    BackendConnection[] made = new BackendConnection[1];
    Bootstrap b = new Bootstrap().group(loop).channelFactory(channelType)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectMillis))
        .option(ChannelOption.TCP_NODELAY, true)
        // Reads of at most 16 KiB: what a response held back for a slow client keeps is what was read last.
        .option(ChannelOption.RECVBUF_ALLOCATOR, new io.netty.channel.AdaptiveRecvByteBufAllocator(64, 2048, 16 * 1024))
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) throws SSLException {
            made[0] = new BackendConnection(ch, BackendPool.this);
            pipeline(ch, made[0]);
          }
        });
    ChannelFuture f = b.connect(backend.host(), backend.port());
    f.addListener(done -> context.dispatch(() -> connected(f, done, made, who)));
  }

  private void connected(ChannelFuture f, io.netty.util.concurrent.Future<?> done, BackendConnection[] made, Acquired who) {
    {
      if (!done.isSuccess()) {
        open--; // never active: closed() is not called for it
        who.failed(done.cause(), false);
        return;
      }
      SslHandler tls = f.channel().pipeline().get(SslHandler.class);
      if (tls == null) {
        who.ready(made[0]);
        return;
      }
      // A handshake that fails is a connect failure (the request was never written).
      tls.handshakeFuture().addListener(hs -> context.dispatch(() -> {
        if (hs.isSuccess()) {
          who.ready(made[0]);
        } else {
          f.channel().close();
          who.failed(hs.cause(), false);
        }
      }));
    }
  }

  private void pipeline(Channel ch, BackendConnection conn) throws SSLException {
    ChannelPipeline p = ch.pipeline();
    if (backend.ssl()) {
      UpstreamTls tls = backend.tls();
      String name = tls.serverName() != null ? tls.serverName() : backend.host();
      SslHandler handler = sslContext(tls).newHandler(ch.alloc(), name, backend.port());
      if (tls.verify()) {
        SSLEngine engine = handler.engine();
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(params);
      }
      p.addLast(handler);
    }
    p.addLast(conn.new Counter());
    ResponseFraming rule = new ResponseFraming();
    p.addLast(ResponseFraming.NAME, new ChunkedFraming(rule));
    p.addLast("decoder", conn.new ResponseDecoder(MAX_STATUS_LINE, MAX_HEAD, 16 * 1024));
    p.addLast("encoder", new RequestEncoder());
    p.addLast(ResponseFraming.METHODS, rule.methods());
    p.addLast(BackendConnection.NAME, conn);
  }

  /** Netty's request encoder; headers kept in Vert.x's map are written by its faster encoder. */
  private static final class RequestEncoder extends io.netty.handler.codec.http.HttpRequestEncoder {
    @Override
    protected void encodeHeaders(io.netty.handler.codec.http.HttpHeaders headers, io.netty.buffer.ByteBuf buf) {
      if (headers instanceof io.vertx.core.http.impl.headers.HeadersMultiMap fast) {
        fast.encode(buf, false);
      } else {
        super.encodeHeaders(headers, buf);
      }
    }
  }

  private static SslContext sslContext(UpstreamTls tls) throws SSLException {
    SslContext known = SSL.get(tls);
    if (known != null) {
      return known;
    }
    SslContextBuilder b = SslContextBuilder.forClient();
    if (!tls.verify()) {
      b.trustManager(InsecureTrustManagerFactory.INSTANCE);
    } else if (tls.caFile() != null) {
      b.trustManager(tls.caFile().toFile());
    }
    SslContext made = b.build();
    SSL.putIfAbsent(tls, made);
    return SSL.get(tls);
  }
}
