package dev.keystone.proxy;

import dev.keystone.model.Backend;
import dev.keystone.model.Tenant;
import dev.keystone.model.Timeouts;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Traffic mirroring ({@code mirror: {backend, percent}}): a copy of a share of a tenant's requests
 * goes to its mirror backend, with {@code X-Keystone-Mirror: 1}; the answer is read and dropped.
 * The real request never waits for it and never hears of it: the copy is sent from this event
 * loop's pools after the real one is on its way, at most {@link #MAX_IN_FLIGHT} copies at once
 * per loop (more are dropped and counted), each within the connect and response-header timeouts, and
 * at most a quarter of a backend's {@code upstream_connections} held by copies (the mirror may
 * be a backend with real traffic too, or a rollout's canary: copies that hang held the whole pool,
 * and real requests waited for it or got 503; attack s16b F3). Copies never wait for a connection.
 * A request whose body is streamed (not read whole first: see {@code body_buffer}) is not copied:
 * holding its bytes for a copy would slow or bloat the real path.
 */
final class Mirror {

  static final int MAX_IN_FLIGHT = 64;
  static final String HEADER = "X-Keystone-Mirror";

  private final NettyForwarder forwarder;
  private int inFlight;
  /** Connections each pool lends to copies now (this loop's pools: no locking). */
  private final java.util.Map<BackendPool, int[]> held = new java.util.IdentityHashMap<>();

  Mirror(NettyForwarder forwarder) {
    this.forwarder = forwarder;
  }

  /** Sends a copy of {@code ex}'s request to its tenant's mirror if it is in the share. */
  void copy(Exchange ex) {
    Tenant.Mirror m = ex.tenant().mirror();
    if (m == null || ex.copiedToMirror || ThreadLocalRandom.current().nextInt(100) >= m.percent()) {
      return;
    }
    ex.copiedToMirror = true; // (once: not again for a retry)
    String tenant = ex.tenant().name();
    if (ex.bufferedBody == null && ClientBody.declared(ex)) {
      outcome(ex, tenant, "skipped");
      return;
    }
    if (inFlight >= MAX_IN_FLIGHT || !m.backend().healthy()) {
      outcome(ex, tenant, "dropped");
      return;
    }
    Backend b = m.backend();
    String uri = b.target(ex.forwardPath(), ex.forwardQuery != null ? ex.forwardQuery : ex.head().query());
    HttpHeaders headers = RequestHeads.forBackend(ex, b);
    headers.set(HEADER, "1");
    headers.remove("Expect");
    byte[] body = ex.bufferedBody == null ? new byte[0] : ex.bufferedBody;
    headers.set("Content-Length", body.length);
    DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, ex.head().method(), uri,
        Unpooled.wrappedBuffer(body), headers, new DefaultHttpHeaders(false));
    boolean head = ex.head().method() == io.netty.handler.codec.http.HttpMethod.HEAD;
    Timeouts t = ex.snapshot().plan().timeouts();
    BackendPool pool = forwarder.poolOf(ex, b);
    int limit = ex.snapshot().plan().limits().upstreamConnections();
    int[] count = held.computeIfAbsent(pool, k -> new int[1]);
    if (count[0] >= Math.max(1, limit / 4)) {
      request.release();
      outcome(ex, tenant, "dropped");
      return;
    }
    inFlight++;
    count[0]++;
    boolean taken = pool.tryAcquire(Math.max(1, limit / 4), t.connect().toMillis(), new BackendPool.Acquired() {
      @Override
      public void ready(BackendConnection c) {
        new Call(ex, tenant, c, pool, t.responseHeader().toMillis()).send(request, head);
      }

      @Override
      public void failed(Throwable cause, boolean poolWait) {
        request.release();
        done(ex, tenant, pool, poolWait ? "dropped" : "failed");
      }
    });
    if (!taken) {
      request.release();
      done(ex, tenant, pool, "dropped");
    }
  }

  private void done(Exchange ex, String tenant, BackendPool pool, String outcome) {
    inFlight--;
    int[] count = held.get(pool);
    if (count != null && --count[0] <= 0) {
      held.remove(pool);
    }
    outcome(ex, tenant, outcome);
  }

  private static void outcome(Exchange ex, String tenant, String outcome) {
    if (ex.metrics != null) {
      ex.metrics.mirrored(tenant, outcome);
    }
  }

  /** One copy on a lent connection: written, its answer read and dropped, the connection given back. */
  private final class Call implements BackendConnection.Listener {
    private final Exchange ex;
    private final String tenant;
    private final BackendConnection conn;
    private final BackendPool pool;
    private final long answerMillis;
    private boolean finished;
    private boolean keepAlive = true;
    private io.netty.util.concurrent.ScheduledFuture<?> deadline;

    Call(Exchange ex, String tenant, BackendConnection conn, BackendPool pool, long answerMillis) {
      this.ex = ex;
      this.tenant = tenant;
      this.conn = conn;
      this.pool = pool;
      this.answerMillis = answerMillis;
    }

    void send(DefaultFullHttpRequest request, boolean head) {
      conn.lend(this, head);
      deadline = conn.channel.eventLoop().schedule(() -> end(false, "failed"), answerMillis, TimeUnit.MILLISECONDS);
      conn.channel.writeAndFlush(request).addListener(f -> {
        if (!f.isSuccess()) {
          end(false, "failed");
        }
      });
    }

    @Override
    public void onResponse(HttpObject msg) {
      if (msg instanceof io.netty.handler.codec.http.HttpResponse r) {
        if (r.status().code() < 200) {
          ReferenceCountUtil.release(msg); // an interim answer: the final one follows
          return;
        }
        keepAlive = HttpUtil.isKeepAlive(r);
      }
      boolean last = msg instanceof LastHttpContent;
      ReferenceCountUtil.release(msg);
      if (last) {
        end(keepAlive, "sent");
      }
    }

    @Override
    public void onWritable() {
    }

    @Override
    public void onReadComplete() {
    }

    @Override
    public void onClosed(Throwable cause) {
      end(false, "failed");
    }

    private void end(boolean clean, String outcome) {
      if (finished) {
        return;
      }
      finished = true;
      if (deadline != null) {
        deadline.cancel(false);
      }
      pool.release(conn, clean);
      done(ex, tenant, pool, outcome);
    }
  }
}
