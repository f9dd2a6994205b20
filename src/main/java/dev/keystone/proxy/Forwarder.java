package dev.keystone.proxy;

import dev.keystone.model.Timeouts;
import dev.keystone.model.Backend;
import dev.keystone.model.Pool;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpServerRequest;

/**
 * The last interceptor: picks a backend of the tenant, gets a connection to it, and hands the
 * exchange to an {@link UpstreamCall}. The phases fail differently, and only what they say is
 * held against the backend: waiting for a free pooled connection is the backend being busy (503,
 * no health effect); a connection that cannot be opened ejects the backend and the request, never
 * written, goes to another one; what happens once the request is on a connection is the
 * {@link UpstreamCall}'s, and the {@link RetryRule}'s.
 */
final class Forwarder implements Interceptor {

  private final UpstreamClients clients;

  Forwarder(UpstreamClients clients) {
    this.clients = clients;
  }

  @Override
  public void handle(Exchange ex) {
    VertxClientSide.request(ex).pause(); // nothing is read from the client until a backend is connected
    Pool.Pick pick = pick(ex, null);
    if (pick == null) {
      ex.fail(ProxyError.NO_BACKEND, noBackend(ex));
      return;
    }
    ex.fallback = pick.fallback();
    connect(ex, pick.backend(), false);
  }

  /** A healthy backend among the script's candidates or the tenant's pool, other than {@code skip}; null if none. */
  static Pool.Pick pick(Exchange ex, Backend skip) {
    return ex.candidates != null ? Pool.pickHealthy(ex.candidates, skip) : ex.tenant().pool().pick(skip);
  }

  /** Why {@link #pick} found nothing, for the 503. */
  static String noBackend(Exchange ex) {
    return ex.candidates != null ? "no healthy backend for route_to(" + ex.routeTarget + ")"
        : ex.tenant().pool().backends().isEmpty() ? "tenant has no backend" : "every backend of the tenant is drained";
  }

  /**
   * Sends the request once more to {@code backend} on a fresh connection: a reused one was
   * closed by the backend before it answered (see {@link RetryRule}).
   */
  void again(Exchange ex, Backend backend) {
    ex.retries++;
    connect(ex, backend, true);
  }

  private void connect(Exchange ex, Backend backend, boolean fresh) {
    HttpServerRequest req = VertxClientSide.request(ex);
    ex.backend = backend;
    ex.phase(Exchange.Phase.CONNECTING);
    ex.upstreamStart = System.nanoTime();
    Timeouts t = ex.snapshot().plan().timeouts();
    String uri = backend.target(ex.forwardPath(), ex.forwardQuery != null ? ex.forwardQuery : req.query());
    Future<HttpClientRequest> f = fresh
        ? clients.requestFresh(backend, uri, req.method(), t, ex.snapshot().plan().limits())
        : clients.request(backend, uri, req.method(), t, ex.snapshot().plan().limits());
    f.onComplete(ex.guard(ar -> connected(ex, backend, ar, fresh)));
  }

  private void connected(Exchange ex, Backend backend, AsyncResult<HttpClientRequest> ar, boolean fresh) {
    if (ex.completed || VertxClientSide.request(ex).response().closed()) {
      if (ar.succeeded()) {
        ar.result().exceptionHandler(Failures::handledElsewhere);
        ar.result().reset(); // the client left while the connection was made
      }
      return;
    }
    if (ar.failed()) {
      Throwable cause = ar.cause();
      if (UpstreamClients.isPoolWait(cause)) {
        ex.fail(ProxyError.BACKEND_BUSY, "backend " + backend.name() + ": no free connection within pool_wait ("
            + ex.snapshot().plan().limits().upstreamConnections() + " busy)");
        return;
      }
      String why = "connect to " + backend.url() + " failed: " + Failures.describe(cause);
      backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), true);
      ProxyError error = Failures.isTimeout(cause) ? ProxyError.UPSTREAM_TIMEOUT : ProxyError.UPSTREAM_FAILED;
      if (ex.retries > 0 || fresh) {
        ex.fail(error, why);
        return;
      }
      // Never written: another backend may take it, if there is one.
      Pool.Pick next = pick(ex, backend);
      if (next == null) {
        ex.fail(error, why + "; no other backend to try");
        return;
      }
      ex.retries++;
      ex.fallback = next.fallback();
      connect(ex, next.backend(), false);
      return;
    }
    HttpClientRequest up = ar.result();
    boolean reused = !fresh && clients.reused(up.connection());
    if (WebSocketTunnel.isUpgrade(ex)) {
      WebSocketTunnel.open(ex, up, backend);
    } else {
      new UpstreamCall(ex, up, backend, reused, this).start();
    }
  }
}
