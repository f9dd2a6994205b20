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

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * One event loop's share of the proxy: its client connections (taken from the shared
 * {@link ClientListener}), its pools of backend connections (connections stay on the loop that
 * uses them) and their sweep. Deploy one instance per event loop. The chain of interceptors is
 * the whole request path, in order.
 */
public final class ProxyServer extends VerticleBase {

  private final Supplier<Snapshot> snapshots;
  private final GatewayConfig startConfig;
  private final List<Interceptor> extra;
  private final dev.keystone.policy.RateLimiters limiters;
  private final Supplier<dev.keystone.model.ApiKeyTable> apiKeys;
  private final dev.keystone.policy.JwtVerifiers jwt;
  private final Clock clock;
  private final ScriptEnvironment scripts;
  private final Metrics metrics;
  private EngineClient engines;
  private List<Interceptor> chain;
  private List<Interceptor> rejectChain;
  /** Client connections and their deadlines, swept periodically (no timer per request). */
  private final ClientConnections connections = new ClientConnections();
  /** Requests in flight, swept for bodies that stopped moving and for requests stuck by a bug. */
  private final InFlight inFlight = new InFlight();
  private long sweeper;
  /** Forwarding on Netty channels of this verticle's own event loop. */
  private NettyForwarder forwarder;
  /** The listener all event loops share. */
  private final ClientListener listener;
  /** This loop's client connections. */
  private NettyClients clients;
  /** The TLS listener all event loops share, and how its handshakes start; null: none. */
  private final ClientListener tlsListener;
  private final TlsHandshake tls;
  private final dev.keystone.model.AcmeTokens acmeTokens;

  /**
   * @param snapshots   the current snapshot, read once per request
   * @param startConfig listen address, limits and timeouts (these need a restart to change)
   * @param extra       interceptors placed after validation and before routing (admin endpoints)
   * @param scripts     what routing scripts share across event loops (key/value stores, clock)
   * @param metrics     where finished requests are counted (shared by all event loops)
   * @param listener    the listening socket, shared by all event loops
   * @param tlsListener the TLS listening socket ({@code tls_listen}), shared too; null: none
   * @param tls         the start of each TLS connection (its certificates); null when no TLS listener
   * @param acmeTokens  the ACME HTTP-01 challenges the gateway answers now
   */
  public ProxyServer(Supplier<Snapshot> snapshots, GatewayConfig startConfig, List<Interceptor> extra, Clock clock,
                     ScriptEnvironment scripts, Metrics metrics, ClientListener listener, ClientListener tlsListener,
                     TlsHandshake tls, dev.keystone.model.AcmeTokens acmeTokens, dev.keystone.policy.RateLimiters limiters,
                     Supplier<dev.keystone.model.ApiKeyTable> apiKeys, dev.keystone.policy.JwtVerifiers jwt) {
    this.jwt = jwt;
    this.acmeTokens = acmeTokens;
    this.limiters = limiters;
    this.apiKeys = apiKeys;
    this.listener = listener;
    this.tlsListener = tlsListener;
    this.tls = tls;
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
    List<Interceptor> c = new ArrayList<>();
    c.add(new RequestIds());
    c.add(new Completion(metrics, inFlight));
    c.add(new RequestGuard());
    c.add(new AcmeChallenge(acmeTokens));
    c.addAll(extra);
    c.add(new TenantRouting());
    c.add(new HttpsRedirect(() -> tlsListener == null ? -1 : tlsListener.port()));
    c.add(new ClientCertificateCheck());
    c.add(new PolicyHeaders());
    c.add(new JwtCheck(jwt));
    c.add(new ApiKeyCheck(apiKeys, clock));
    c.add(new RateLimiting(limiters));
    engines = new EngineClient(vertx);
    c.add(new ScriptInterceptor(scripts, engines));
    c.add(new BodyBuffering(scripts));
    // The channel type of Vert.x's own transport (epoll here): it must match the event loop's.
    io.vertx.core.internal.ContextInternal ctx = (io.vertx.core.internal.ContextInternal) context;
    io.vertx.core.internal.VertxInternal vx = (io.vertx.core.internal.VertxInternal) vertx;
    forwarder = new NettyForwarder(ctx, vx.transport().channelFactory(false));
    c.add(forwarder);
    chain = List.copyOf(c);
    rejectChain = List.of(new RequestIds(), new Completion(metrics, inFlight), ProxyServer::rejectUndecodable);

    long period = Math.max(10, Math.min(250, Math.min(t.headerRead().toMillis(), t.idle().toMillis()) / 4));
    sweeper = vertx.setPeriodic(period, id -> sweep());
    // The request line may hold a target of max_uri_length, method and version around it.
    clients = new NettyClients(ctx, snapshots, connections, limits.maxUriLength() + 64, limits.maxHeaderSize(), chain, rejectChain);
    Future<Void> plain = named("listen", startConfig.listen(), listener.join(vx.acceptorEventLoopGroup(), ctx.nettyEventLoop(),
        vx.transport().serverChannelFactory(false), startConfig.listen().host(), startConfig.listen().port(), clients::init));
    if (tlsListener == null) {
      return plain;
    }
    Future<Void> secure = named("tls_listen", startConfig.tls().listen(), tlsListener.join(vx.acceptorEventLoopGroup(),
        ctx.nettyEventLoop(), vx.transport().serverChannelFactory(false), startConfig.tls().listen().host(),
        startConfig.tls().listen().port(), ch -> clients.initSecure(ch, tls)));
    return Future.all(plain, secure).mapEmpty();
  }

  /** A bind failure that says which of the listeners it was (attack s13: a tls_listen failure named listen's address). */
  private static Future<Void> named(String key, dev.keystone.config.ListenAddress address, Future<Void> bind) {
    return bind.recover(e -> Future.failedFuture(new java.io.IOException(key + " " + address + ": " + e.getMessage(), e)));
  }

  /** Connection deadlines (slowloris, idle keep-alive) and requests that stopped moving. */
  private void sweep() {
    long now = System.nanoTime();
    connections.sweep(now);
    forwarder.sweep(now);
    if (inFlight.size() > 0) {
      GatewayPlan plan = snapshots.get().plan();
      // Clients that do not read hold network buffers and, while their responses wait, backend
      // connections: when either runs short they are cut, so they can't starve everyone else.
      String pressure = DirectMemory.underPressure()
          ? "network buffers above " + (int) (DirectMemory.PRESSURE * 100) + " % of the direct memory limit"
          : forwarder.waiting() ? "requests are waiting for a backend connection" : null;
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
    return listener.port();
  }

  /** The TLS listener's bound port, or -1 when there is none. */
  public int actualTlsPort() {
    return tlsListener == null ? -1 : tlsListener.port();
  }

  /** Stops accepting and lets in-flight requests finish, up to the timeout. */
  public Future<Void> shutdown(long timeoutMillis) {
    listener.stopAccepting();
    if (tlsListener != null) {
      tlsListener.stopAccepting();
    }
    return clients.shutdown(timeoutMillis);
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweeper);
    forwarder.closeIdle();
    listener.leave(((io.vertx.core.internal.ContextInternal) context).nettyEventLoop());
    if (tlsListener != null) {
      tlsListener.leave(((io.vertx.core.internal.ContextInternal) context).nettyEventLoop());
    }
    clients.closeAll();
    return engines.close();
  }
}
