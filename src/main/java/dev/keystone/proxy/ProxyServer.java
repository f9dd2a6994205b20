package dev.keystone.proxy;

import dev.keystone.config.GatewayConfig;
import dev.keystone.model.Limits;
import dev.keystone.model.Timeouts;
import dev.keystone.model.GatewayPlan;
import dev.keystone.model.Snapshot;
import dev.keystone.metrics.Metrics;
import dev.keystone.engine.EngineClient;
import dev.keystone.script.ScriptEnvironment;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * One event loop's share of the proxy: an HTTP server on the shared listen port and its own
 * pooled HTTP client to the backends (connections stay on the loop that uses them). Deploy one
 * instance per event loop. The chain of interceptors is the whole request path, in order.
 */
public final class ProxyServer extends VerticleBase {

  private final Supplier<Snapshot> snapshots;
  private final GatewayConfig startConfig;
  private final List<Interceptor> extra;
  private final Clock clock;
  private final ScriptEnvironment scripts;
  private final Metrics metrics;
  private HttpServer server;
  private UpstreamClients clients;
  private EngineClient engines;
  private List<Interceptor> chain;
  private List<Interceptor> rejectChain;
  private HttpServerOptions serverOptions;
  /** Client connections and their deadlines, swept periodically (no timer per request). */
  private final ClientConnections connections = new ClientConnections();
  /** Requests in flight, swept for bodies that stopped moving and for requests stuck by a bug. */
  private final InFlight inFlight = new InFlight();
  private long sweeper;
  /** Forwarding on Netty (with {@code -Dkeystone.upstream=netty}), else null. */
  private NettyForwarder nettyForwarder;
  /** The shared listener when clients are served on Netty, else null (Vert.x's HTTP server). */
  private final ClientListener listener;
  /** This loop's client connections on Netty, when {@link #listener} is set. */
  private NettyClients nettyClients;

  /**
   * @param snapshots   the current snapshot, read once per request
   * @param startConfig listen address, limits and timeouts (these need a restart to change)
   * @param extra       interceptors placed after validation and before routing (admin endpoints)
   * @param scripts     what routing scripts share across event loops (key/value stores, clock)
   * @param metrics     where finished requests are counted (shared by all event loops)
   */
  public ProxyServer(Supplier<Snapshot> snapshots, GatewayConfig startConfig, List<Interceptor> extra, Clock clock,
                     ScriptEnvironment scripts, Metrics metrics) {
    this(snapshots, startConfig, extra, clock, scripts, metrics, null);
  }

  /** The same, serving clients on Netty through {@code listener} (shared by all event loops) when not null. */
  public ProxyServer(Supplier<Snapshot> snapshots, GatewayConfig startConfig, List<Interceptor> extra, Clock clock,
                     ScriptEnvironment scripts, Metrics metrics, ClientListener listener) {
    this.listener = listener;
    this.snapshots = snapshots;
    this.startConfig = startConfig;
    this.extra = extra;
    this.clock = clock;
    this.scripts = scripts;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    Timeouts t = startConfig.timeouts();
    Limits limits = startConfig.limits();
    clients = new UpstreamClients(vertx);
    List<Interceptor> c = new ArrayList<>();
    c.add(new RequestIds());
    c.add(new Completion(metrics, inFlight));
    c.add(new RequestGuard());
    c.addAll(extra);
    c.add(new TenantRouting());
    engines = new EngineClient(vertx);
    c.add(new ScriptInterceptor(scripts, engines));
    c.add(new BodyBuffering(scripts));
    Forwarder vertxForwarder = new Forwarder(clients);
    // Clients on Netty need forwarding on Netty (the Vert.x forwarding reads Vert.x's request).
    if (listener != null || "netty".equals(System.getProperty("keystone.upstream"))) {
      // Forwarding on Netty channels of this verticle's own event loop (issue 14, in progress:
      // -Dkeystone.upstream=netty, or clients on Netty).
      // The channel type of Vert.x's own transport (epoll here): it must match the event loop's.
      io.netty.channel.ChannelFactory<? extends io.netty.channel.Channel> channels =
          ((io.vertx.core.internal.VertxInternal) vertx).transport().channelFactory(false);
      nettyForwarder = new NettyForwarder((io.vertx.core.internal.ContextInternal) context, channels, vertxForwarder);
      c.add(nettyForwarder);
    } else {
      c.add(vertxForwarder);
    }
    chain = List.copyOf(c);
    rejectChain = List.of(new RequestIds(), new Completion(metrics, inFlight), ProxyServer::rejectUndecodable);

    serverOptions = new HttpServerOptions()
        .setHost(startConfig.listen().host())
        .setPort(startConfig.listen().port())
        .setMaxHeaderSize(limits.maxHeaderSize())
        .setMaxInitialLineLength(limits.maxUriLength() + 64)
        // No connection idle timeout from Vert.x: it would also cut requests waiting for a slow
        // backend. ClientConnections and InFlight apply idle where it belongs.
        .setCompressionSupported(false)
        .setDecompressionSupported(false)
        .setHandle100ContinueAutomatically(false)
        // HTTP/1.1 only for now: h2c upgrades would bypass the HTTP/1 checks of this chain.
        .setHttp2ClearTextEnabled(false)
        // Every interaction with a request happens on its own event loop (the upstream client is
        // this verticle's), so Vert.x may skip its cross-thread locking.
        .setStrictThreadMode(true)
        .setTcpNoDelay(true);
    long period = Math.max(10, Math.min(250, Math.min(t.headerRead().toMillis(), t.idle().toMillis()) / 4));
    sweeper = vertx.setPeriodic(period, id -> sweep());
    if (listener != null) {
      io.vertx.core.internal.ContextInternal ctx = (io.vertx.core.internal.ContextInternal) context;
      io.netty.channel.EventLoop loop = ctx.nettyEventLoop();
      nettyClients = new NettyClients(ctx, snapshots, connections, serverOptions, chain, rejectChain);
      io.vertx.core.internal.VertxInternal vx = (io.vertx.core.internal.VertxInternal) vertx;
      return listener.join(vx.acceptorEventLoopGroup(), loop, vx.transport().serverChannelFactory(false),
          serverOptions.getHost(), serverOptions.getPort(), nettyClients::init);
    }
    server = vertx.createHttpServer(serverOptions)
        .connectionHandler(this::onConnection)
        .invalidRequestHandler(req -> run(req, rejectChain))
        .requestHandler(req -> run(req, chain));
    return server.listen();
  }

  private void run(HttpServerRequest req, List<Interceptor> interceptors) {
    io.netty.channel.Channel conn = ClientConnections.channel(req.connection());
    Snapshot snapshot = snapshots.get();
    connections.requestStarted(conn);
    long idle = snapshot.plan().idleNanos();
    req.response().bodyEndHandler(v -> connections.requestEnded(conn, idle, req.response().getStatusCode() == 101));
    Exchange ex = new Exchange(new VertxClientSide(req), snapshot, interceptors);
    ex.next(); // the error boundary: whatever an interceptor throws is answered there
  }

  private void onConnection(HttpConnection conn) {
    StrictRequestDecoder.install(conn, serverOptions);
    connections.opened(conn, snapshots.get().plan().headerReadNanos());
  }

  /** Connection deadlines (slowloris, idle keep-alive) and requests that stopped moving. */
  private void sweep() {
    long now = System.nanoTime();
    connections.sweep(now);
    if (nettyForwarder != null) {
      nettyForwarder.sweep(now);
    }
    if (inFlight.size() > 0) {
      GatewayPlan plan = snapshots.get().plan();
      // Clients that do not read hold network buffers and, while their responses wait, backend
      // connections: when either runs short they are cut, so they can't starve everyone else.
      String pressure = DirectMemory.underPressure()
          ? "network buffers above " + (int) (DirectMemory.PRESSURE * 100) + " % of the direct memory limit"
          : nettyForwarder != null && nettyForwarder.waiting() ? "requests are waiting for a backend connection" : null;
      inFlight.sweep(now, plan.idleNanos(), plan.stallNanos(), pressure);
    }
  }

  /** Requests the decoder could not parse: the status says which limit or rule was broken. */
  private static void rejectUndecodable(Exchange ex) {
    Throwable cause = ex.head().decodeFailure();
    if (cause instanceof TooLongHttpLineException) {
      ex.fail(ProxyError.URI_TOO_LONG, "request line too long");
    } else if (cause instanceof TooLongHttpHeaderException) {
      ex.fail(ProxyError.HEADERS_TOO_LARGE, "request headers too large");
    } else if (cause instanceof StrictRequestDecoder.UnsupportedVersion) {
      ex.fail(ProxyError.VERSION_NOT_SUPPORTED, cause.getMessage());
    } else {
      ex.fail(ProxyError.BAD_REQUEST, "malformed request: " + (cause == null ? "?" : cause.getMessage()));
    }
  }

  public int actualPort() {
    return listener != null ? listener.port() : server.actualPort();
  }

  /** Stops accepting and lets in-flight requests finish, up to the timeout. */
  public Future<Void> shutdown(long timeoutMillis) {
    if (listener != null) {
      listener.stopAccepting();
      return nettyClients.shutdown(timeoutMillis);
    }
    return server.shutdown(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweeper);
    if (nettyForwarder != null) {
      nettyForwarder.closeIdle();
    }
    Future<Void> closed;
    if (listener != null) {
      listener.leave(((io.vertx.core.internal.ContextInternal) context).nettyEventLoop());
      nettyClients.closeAll();
      closed = Future.succeededFuture();
    } else {
      closed = server.close();
    }
    return closed.compose(v -> clients.close()).compose(v -> engines.close());
  }
}
