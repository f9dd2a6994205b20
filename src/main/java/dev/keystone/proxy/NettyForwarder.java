package dev.keystone.proxy;

import dev.keystone.model.Backend;
import dev.keystone.model.Limits;
import dev.keystone.model.Pool;
import dev.keystone.model.Timeouts;
import dev.keystone.model.UpstreamTls;
import io.netty.channel.Channel;

import java.util.HashMap;
import java.util.Map;

/**
 * The last interceptor, forwarding on Netty: picks a backend of the tenant, gets a connection
 * from this event loop's {@link BackendPool} for it, and hands the exchange to a
 * {@link BackendCall}. The phases fail differently, and only what they say is held against the
 * backend: waiting for a free pooled connection is the backend being busy (503, no health
 * effect); a connection that cannot be opened ejects the backend and the request, never written,
 * goes to another one; what happens once the request is on a connection is the call's.
 * WebSocket handshakes become tunnels ({@link WebSocketSplice}).
 */
final class NettyForwarder implements Interceptor, UpstreamTransport {

  /** How long an idle pooled connection is kept (as nginx keeps idle upstream connections). */
  static final long KEEP_ALIVE_NANOS = 60_000_000_000L;

  private record Key(String url, UpstreamTls tls) {
  }

  private final io.vertx.core.internal.ContextInternal context;
  private final io.netty.channel.ChannelFactory<? extends Channel> channelType;
  private final Map<Key, BackendPool> pools = new HashMap<>();
  /** {@link #pools} by the backend objects of one snapshot ({@link #cachedFor}). */
  private final Map<Backend, BackendPool> byBackend = new java.util.IdentityHashMap<>();
  private dev.keystone.model.Snapshot cachedFor;

  /** @param context the verticle's: backend events run with it current, on its event loop */
  private final Mirror mirror = new Mirror(this);

  NettyForwarder(io.vertx.core.internal.ContextInternal context, io.netty.channel.ChannelFactory<? extends Channel> channelType) {
    this.context = context;
    this.channelType = channelType;
  }

  /** The last step of the chain: forwarding. */
  @Override
  public void handle(Exchange ex) {
    forward(ex);
  }

  @Override
  public void forward(Exchange ex) {
    ex.body().pause(); // nothing is read from the client until a backend is connected
    Pool.Pick pick = pick(ex, null);
    if (pick == null) {
      ex.fail(ProxyError.NO_BACKEND, noBackend(ex));
      return;
    }
    ex.fallback = pick.fallback();
    connect(ex, pick.backend(), false);
    mirror.copy(ex); // (after the real one: it never waits for the copy)
  }

  /** The pool of connections to {@code b} on this loop. */
  BackendPool poolOf(Exchange ex, Backend b) {
    return pool(ex, b);
  }

  /** A healthy backend among the script's candidates or the tenant's pool, other than {@code skip}; null if none. */
  static Pool.Pick pick(Exchange ex, Backend skip) {
    if (ex.candidates != null) {
      return Pool.pickHealthy(ex.candidates, skip);
    }
    Pool pool = ex.tenant().pool();
    dev.keystone.model.TrafficSplit.Share share = pool.share(); // (a rollout's canary share)
    return share == null ? pool.pick(skip) : pool.pick(skip, CanaryBucket.of(ex, share));
  }

  /** Why {@link #pick} found nothing, for the 503. */
  static String noBackend(Exchange ex) {
    return ex.candidates != null ? "no healthy backend for route_to(" + ex.routeTarget + ")"
        : ex.tenant().pool().backends().isEmpty() ? "tenant has no backend" : "every backend of the tenant is drained";
  }

  /** Whether {@code ex} is a WebSocket handshake, joined to its backend as a tunnel ({@link WebSocketSplice}). */
  static boolean splices(Exchange ex) {
    return WebSocketSplice.isHandshake(ex);
  }

  /** Sends the request once more to {@code backend} on a fresh connection (see {@link RetryRule}). */
  void again(Exchange ex, Backend backend) {
    ex.retries++;
    connect(ex, backend, true);
  }

  /**
   * {@link #again} after {@code delayMs}, for a shortage of the gateway's own that the loops'
   * sweeps relieve meanwhile (network buffers held by clients that do not read: cut at the next
   * sweep, at most 250 ms away). A client that left meanwhile is not sent.
   */
  void againAfter(Exchange ex, Backend backend, long delayMs) {
    ex.retries++;
    context.nettyEventLoop().schedule(() -> context.dispatch(() -> ex.guarded(() -> {
      if (!ex.completed && !ex.response().closed()) {
        connect(ex, backend, true);
      }
    }).run()), delayMs, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** Ends waits past pool_wait and closes connections idle too long; run by the loop's sweep. */
  void sweep(long now) {
    for (BackendPool p : pools.values()) {
      p.sweep(now, KEEP_ALIVE_NANOS);
    }
  }

  /** Whether a request waits for a connection to some backend (its pool is at its limit). */
  boolean waiting() {
    for (BackendPool p : pools.values()) {
      if (p.waiting()) {
        return true;
      }
    }
    return false;
  }

  /** Closes the idle pooled connections (the server stops); busy ones close after their request. */
  void closeIdle() {
    pools.values().forEach(BackendPool::closeIdle);
  }

  private BackendPool pool(Exchange ex, Backend b) {
    // The pool of a backend object of the current snapshot, found by identity: the keyed lookup
    // builds a key and hashes a URL, on every request.
    if (ex.snapshot() != cachedFor) {
      byBackend.clear();
      cachedFor = ex.snapshot();
    }
    BackendPool p = byBackend.get(b);
    if (p == null) {
      p = pools.computeIfAbsent(new Key(b.url(), b.ssl() ? b.tls() : null), k -> new BackendPool(context, channelType, b));
      byBackend.put(b, p);
    }
    return p;
  }

  private void connect(Exchange ex, Backend backend, boolean fresh) {
    ex.backend = backend;
    ex.phase(Exchange.Phase.CONNECTING);
    ex.upstreamStart = System.nanoTime();
    Timeouts t = ex.snapshot().plan().timeouts();
    Limits l = ex.snapshot().plan().limits();
    BackendPool pool = pool(ex, backend);
    // An upgrade takes a connection of its own: it leaves the pool as a tunnel.
    pool.acquire(fresh || splices(ex), l.upstreamConnections(), t.connect().toMillis(), t.poolWait().toNanos(), new BackendPool.Acquired() {
      @Override
      public void ready(BackendConnection c) {
        ex.guarded(() -> {
          if (ex.completed || ex.response().closed()) {
            pool.release(c, true); // the client left while waiting: the connection carried nothing
            return;
          }
          new BackendCall(ex, backend, c, pool, NettyForwarder.this, fresh).start();
        }).run();
      }

      @Override
      public void failed(Throwable cause, boolean poolWait) {
        ex.guarded(() -> connectFailed(ex, backend, cause, poolWait, fresh)).run();
      }
    });
  }

  private void connectFailed(Exchange ex, Backend backend, Throwable cause, boolean poolWait, boolean fresh) {
    if (ex.completed || ex.response().closed()) {
      return;
    }
    if (poolWait) {
      ex.fail(ProxyError.BACKEND_BUSY, "backend " + backend.name() + ": " + cause.getMessage());
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
  }
}
