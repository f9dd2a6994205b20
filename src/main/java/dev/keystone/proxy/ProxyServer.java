package dev.keystone.proxy;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.Limits;
import dev.keystone.config.Timeouts;
import dev.keystone.gateway.Snapshot;
import dev.keystone.metrics.Metrics;
import dev.keystone.engine.EngineClient;
import dev.keystone.script.ScriptEnvironment;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;

import java.time.Clock;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
  private HttpClient client;
  private EngineClient engines;
  private List<Interceptor> chain;
  private List<Interceptor> rejectChain;
  private HttpServerOptions serverOptions;
  /**
   * Connections waiting for request headers, with the time (nanos) they must have arrived by.
   * Swept periodically instead of one timer per request, which would cost a scheduled task and
   * a map entry to set and cancel on every request.
   */
  private final Map<HttpConnection, Long> headerDeadlines = new IdentityHashMap<>();
  private long sweeper;

  /**
   * @param snapshots   the current snapshot, read once per request
   * @param startConfig listen address, limits and timeouts (these need a restart to change)
   * @param extra       interceptors placed after validation and before routing (admin endpoints)
   * @param scripts     what routing scripts share across event loops (key/value stores, clock)
   * @param metrics     where finished requests are counted (shared by all event loops)
   */
  public ProxyServer(Supplier<Snapshot> snapshots, GatewayConfig startConfig, List<Interceptor> extra, Clock clock,
                     ScriptEnvironment scripts, Metrics metrics) {
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
    client = vertx.createHttpClient(new HttpClientOptions()
            .setKeepAlive(true)
            // As long as nginx keeps idle upstream connections: fewer reconnects after a lull.
            .setKeepAliveTimeout(60)
            .setIdleTimeout((int) t.idle().toMillis())
            .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
            .setTcpNoDelay(true)
            .setDecompressionSupported(false)
            .setMaxHeaderSize(64 * 1024)
            .setMaxInitialLineLength(16 * 1024)
            .setTrustAll(true)
            .setVerifyHost(false),
        new PoolOptions().setHttp1MaxSize(512).setMaxWaitQueueSize(-1));
    List<Interceptor> c = new ArrayList<>();
    c.add(new RequestIds());
    c.add(new Completion(metrics));
    c.add(new RequestGuard());
    c.addAll(extra);
    c.add(new TenantRouting());
    engines = new EngineClient(vertx);
    c.add(new ScriptInterceptor(scripts, engines));
    c.add(new Forwarder(client, clock));
    chain = List.copyOf(c);
    rejectChain = List.of(new RequestIds(), new Completion(metrics), ProxyServer::rejectUndecodable);

    serverOptions = new HttpServerOptions()
        .setHost(startConfig.listen().host())
        .setPort(startConfig.listen().port())
        .setMaxHeaderSize(limits.maxHeaderSize())
        .setMaxInitialLineLength(limits.maxUriLength() + 64)
        .setIdleTimeout((int) t.idle().toMillis())
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
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
    server = vertx.createHttpServer(serverOptions)
        .connectionHandler(this::onConnection)
        .invalidRequestHandler(req -> run(req, rejectChain))
        .requestHandler(req -> run(req, chain));
    return server.listen();
  }

  private void run(HttpServerRequest req, List<Interceptor> interceptors) {
    HttpConnection conn = req.connection();
    headerDeadlines.remove(conn);
    // A kept-alive connection must send its next request's headers within the idle timeout.
    req.response().bodyEndHandler(v -> {
      if (req.response().getStatusCode() != 101) { // an upgraded connection is a tunnel now
        expectHeaders(conn, startConfig.timeouts().idle());
      }
    });
    Exchange ex = new Exchange(req, snapshots.get(), interceptors);
    try {
      ex.next();
    } catch (RuntimeException e) {
      ex.fail(ProxyError.UPSTREAM_FAILED, "internal error: " + e);
    }
  }

  private void onConnection(HttpConnection conn) {
    StrictRequestDecoder.install(conn, serverOptions);
    expectHeaders(conn, startConfig.timeouts().headerRead());
    conn.closeHandler(v -> headerDeadlines.remove(conn));
  }

  private void expectHeaders(HttpConnection conn, java.time.Duration within) {
    headerDeadlines.put(conn, System.nanoTime() + within.toNanos());
  }

  /** Closes connections that did not deliver complete request headers in time (slowloris). */
  private void sweep() {
    if (headerDeadlines.isEmpty()) {
      return;
    }
    long now = System.nanoTime();
    List<HttpConnection> expired = null;
    for (Map.Entry<HttpConnection, Long> e : headerDeadlines.entrySet()) {
      if (now - e.getValue() > 0) {
        if (expired == null) {
          expired = new ArrayList<>();
        }
        expired.add(e.getKey());
      }
    }
    if (expired != null) {
      for (HttpConnection c : expired) {
        headerDeadlines.remove(c);
        c.close();
      }
    }
  }

  /** Requests the decoder could not parse: the status says which limit or rule was broken. */
  private static void rejectUndecodable(Exchange ex) {
    Throwable cause = ex.request().decoderResult().cause();
    if (cause instanceof TooLongHttpLineException) {
      ex.fail(ProxyError.URI_TOO_LONG, "request line too long");
    } else if (cause instanceof TooLongHttpHeaderException) {
      ex.fail(ProxyError.HEADERS_TOO_LARGE, "request headers too large");
    } else {
      ex.fail(ProxyError.BAD_REQUEST, "malformed request: " + (cause == null ? "?" : cause.getMessage()));
    }
  }

  public int actualPort() {
    return server.actualPort();
  }

  /** Stops accepting and lets in-flight requests finish, up to the timeout. */
  public Future<Void> shutdown(long timeoutMillis) {
    return server.shutdown(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweeper);
    return server.close().compose(v -> client.close()).compose(v -> engines.close());
  }
}
