package dev.keystone.proxy;

import dev.keystone.config.Limits;
import dev.keystone.config.Timeouts;
import dev.keystone.upstream.Backend;
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

import java.util.Collections;
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

  private final Vertx vertx;
  private final Set<HttpConnection> fresh = Collections.newSetFromMap(new IdentityHashMap<>());
  private HttpClientAgent client;
  private long connectMillis = -1;
  private long idleMillis = -1;
  private int maxConnections = -1;

  UpstreamClients(Vertx vertx) {
    this.vertx = vertx;
  }

  private HttpClientAgent client(Timeouts t, Limits l) {
    long connect = t.connect().toMillis();
    // The connection's own idle timer must never fire before the wait for a response head ends
    // (that wait has its timer, response_header); stalls mid-body are ended by InFlight at idle.
    long idle = Math.max(t.idle().toMillis(), t.responseHeader().toMillis()) + 1000;
    if (client == null || connect != connectMillis || idle != idleMillis || l.upstreamConnections() != maxConnections) {
      HttpClientAgent old = client;
      connectMillis = connect;
      idleMillis = idle;
      maxConnections = l.upstreamConnections();
      client = vertx.httpClientBuilder()
          .with(new HttpClientOptions()
              .setKeepAlive(true)
              // As long as nginx keeps idle upstream connections: fewer reconnects after a lull.
              .setKeepAliveTimeout(60)
              // A backstop for a silent connection (an open WebSocket tunnel included).
              .setIdleTimeout((int) Math.min(Integer.MAX_VALUE, idle))
              .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
              .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connect))
              .setTcpNoDelay(true)
              .setDecompressionSupported(false)
              .setMaxHeaderSize(64 * 1024)
              .setMaxInitialLineLength(16 * 1024))
          .with(new PoolOptions().setHttp1MaxSize(maxConnections).setMaxWaitQueueSize(-1))
          .withConnectHandler(conn -> {
            fresh.add(conn);
            conn.closeHandler(v -> {
              fresh.remove(conn);
              PendingReads.release(conn);
            });
          })
          .build();
      if (old != null) {
        old.shutdown(t.responseHeader().toMillis() + t.idle().toMillis(), TimeUnit.MILLISECONDS);
      }
    }
    return client;
  }

  /** A request to {@code backend} on a pooled connection (waiting for one up to {@code pool_wait}). */
  Future<HttpClientRequest> request(Backend backend, String uri, io.vertx.core.http.HttpMethod method, Timeouts t, Limits l) {
    RequestOptions o = connectOptions(backend, new RequestOptions());
    o.setMethod(method).setURI(uri);
    // The pool wait's timer also runs while a new connection is made: give it connect on top,
    // so that the connect timeout (a ConnectTimeoutException) is the one that fires for a slow connect.
    o.setConnectTimeout(t.poolWait().toMillis() + t.connect().toMillis());
    return client(t, l).request(o);
  }

  /** A request to {@code backend} on a new connection of its own, closed after the exchange. */
  Future<HttpClientRequest> requestFresh(Backend backend, String uri, io.vertx.core.http.HttpMethod method, Timeouts t,
                                         Limits l) {
    HttpConnectOptions c = connectOptions(backend, new HttpConnectOptions());
    c.setConnectTimeout(t.connect().toMillis());
    return client(t, l).connect(c).compose(conn -> {
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
    return client == null ? Future.succeededFuture() : client.close();
  }
}
