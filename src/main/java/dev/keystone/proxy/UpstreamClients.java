package dev.keystone.proxy;

import dev.keystone.model.Limits;
import dev.keystone.model.Timeouts;
import dev.keystone.model.Backend;
import dev.keystone.upstream.UpstreamTarget;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.impl.NoStackTraceTimeoutException;

import dev.keystone.model.UpstreamTls;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One event loop's connections to the backends: a pooled client (at most
 * {@code limits.upstream_connections} per backend), which connections are fresh and which are
 * reused (the retry rule depends on it), and where and how to reach each backend
 * ({@link UpstreamTarget}: host, port, TLS verification). A reload
 * that changes the connect timeout or the pool size gets a new client; the old one finishes its
 * requests and closes.
 */
final class UpstreamClients {

  /** The settings every client is built with; a reload that changes them gets new clients. */
  private record Settings(long connectMillis, long idleMillis, int maxConnections) {
  }

  private final Vertx vertx;
  private final Set<HttpConnection> fresh = Collections.newSetFromMap(new IdentityHashMap<>());
  /**
   * A client per TLS setting (null: plain http). Vert.x pools by endpoint, and its key compares
   * TLS options without trust-all and host verification: one client for all would let a backend
   * verified by one tenant reuse a connection another tenant opened unverified.
   */
  private final Map<UpstreamTls, HttpClientAgent> clients = new HashMap<>();
  private Settings settings;

  UpstreamClients(Vertx vertx) {
    this.vertx = vertx;
  }

  private HttpClientAgent client(Timeouts t, Limits l, Backend backend) {
    // The connection's own idle timer must never fire before the wait for a response head ends
    // (that wait has its timer, response_header); stalls mid-body are ended by InFlight at idle.
    Settings wanted = new Settings(t.connect().toMillis(), Math.max(t.idle().toMillis(), t.responseHeader().toMillis()) + 1000,
        l.upstreamConnections());
    if (!wanted.equals(settings)) {
      settings = wanted;
      long grace = t.responseHeader().toMillis() + t.idle().toMillis();
      clients.values().forEach(old -> old.shutdown(grace, TimeUnit.MILLISECONDS));
      clients.clear();
    }
    return clients.computeIfAbsent(backend.ssl() ? backend.tls() : null, tls -> build(wanted));
  }

  private HttpClientAgent build(Settings s) {
    return vertx.httpClientBuilder()
        .with(new HttpClientOptions()
            .setKeepAlive(true)
            // As long as nginx keeps idle upstream connections: fewer reconnects after a lull.
            .setKeepAliveTimeout(60)
            // A backstop for a silent connection (an open WebSocket tunnel included).
            .setIdleTimeout((int) Math.min(Integer.MAX_VALUE, s.idleMillis()))
            .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
            .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, s.connectMillis()))
            .setTcpNoDelay(true)
            .setDecompressionSupported(false)
            .setMaxHeaderSize(64 * 1024)
            .setMaxInitialLineLength(16 * 1024))
        .with(new PoolOptions().setHttp1MaxSize(s.maxConnections()).setMaxWaitQueueSize(-1))
        .withConnectHandler(conn -> {
          fresh.add(conn);
          ReadBytes.install(conn);
          ResponseFraming.install(conn);
          // A broken response fails its request, which answers for it; without a handler Vert.x
          // would also log each one as SEVERE, a log flood at a broken backend's command.
          conn.exceptionHandler(Failures::handledElsewhere);
          // Reads of at most 16 KiB: what a paused response holds is what was read last.
          if (conn instanceof io.vertx.core.net.impl.ConnectionBase base) {
            base.channelHandlerContext().channel().config()
                .setRecvByteBufAllocator(new io.netty.channel.AdaptiveRecvByteBufAllocator(64, 2048, 16 * 1024));
          }
          conn.closeHandler(v -> {
            fresh.remove(conn);
            PendingReads.release(conn);
          });
        })
        .build();
  }

  /** A request to {@code backend} on a pooled connection (waiting for one up to {@code pool_wait}). */
  Future<HttpClientRequest> request(Backend backend, String uri, io.vertx.core.http.HttpMethod method, Timeouts t, Limits l) {
    RequestOptions o = connectOptions(backend, new RequestOptions());
    o.setMethod(method).setURI(uri);
    // The pool wait's timer also runs while a new connection is made: give it connect on top,
    // so that the connect timeout (a ConnectTimeoutException) is the one that fires for a slow connect.
    o.setConnectTimeout(t.poolWait().toMillis() + t.connect().toMillis());
    return client(t, l, backend).request(o);
  }

  /** A request to {@code backend} on a new connection of its own, closed after the exchange. */
  Future<HttpClientRequest> requestFresh(Backend backend, String uri, io.vertx.core.http.HttpMethod method, Timeouts t,
                                         Limits l) {
    HttpConnectOptions c = connectOptions(backend, new HttpConnectOptions());
    c.setConnectTimeout(t.connect().toMillis());
    return client(t, l, backend).connect(c).compose(conn -> {
      fresh.remove(conn);
      conn.closeHandler(v -> PendingReads.release(conn));
      return conn.request(new RequestOptions().setMethod(method).setURI(uri)).onComplete(ar -> {
        if (ar.failed()) {
          conn.close();
        } else {
          ar.result().response().onComplete(r -> {
            if (r.failed()) {
              conn.close();
            } else {
              r.result().end().onComplete(e -> conn.close());
            }
          });
        }
      });
    });
  }

  private static <T extends HttpConnectOptions> T connectOptions(Backend backend, T o) {
    return UpstreamTarget.of(backend, o);
  }

  /** Whether {@code conn} carried a request before (and so may have been closed by the backend as idle). */
  boolean reused(HttpConnection conn) {
    return !fresh.remove(conn);
  }

  /** Waiting for a pooled connection timed out: the backend is busy, not broken. */
  static boolean isPoolWait(Throwable t) {
    return t instanceof NoStackTraceTimeoutException && String.valueOf(t.getMessage()).contains("getting a connection");
  }

  Future<Void> close() {
    return Future.all(clients.values().stream().map(HttpClientAgent::close).toList()).mapEmpty();
  }
}
