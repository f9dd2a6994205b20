package dev.keystone.proxy;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.HttpServerConnection;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The client connections of one event loop and their timers. A connection waiting for a request
 * head has a deadline: {@code header_read} when new, {@code idle} between requests. A connection
 * with a request in flight has none: that request's own timers apply (so a request waiting for a
 * slow backend is never cut by the idle timeout). One periodic sweep checks all deadlines
 * instead of a timer per request.
 *
 * <p>Closing a connection whose client may still be sending (an answer before the request body
 * was read) lingers, as nginx's {@code lingering_close}: the gateway stops writing, reads and
 * drops what still arrives, and closes once the client does (or after {@link #LINGER_MS}). An
 * immediate close with unread bytes makes the kernel send a reset, which can destroy the
 * answer before the client has read it.
 */
final class ClientConnections {

  static final String LINGER = "keystone-linger";
  static final long LINGER_MS = 5000;

  /** A connection's requests in flight, and when its next request head must have arrived. */
  private static final class State {
    int active;
    long deadline; // nanos; 0 while a request is in flight
  }

  private final Map<HttpConnection, State> states = new IdentityHashMap<>();

  /** A new connection: it has {@code headerReadNanos} to send its first request head. */
  void opened(HttpConnection conn, long headerReadNanos) {
    if (conn instanceof HttpServerConnection internal) {
      ChannelPipeline p = internal.channelHandlerContext().pipeline();
      if (p.get(LINGER) == null) {
        p.addFirst(LINGER, new Lingering());
      }
    }
    State s = new State();
    s.deadline = System.nanoTime() + headerReadNanos;
    states.put(conn, s);
    conn.closeHandler(v -> {
      states.remove(conn);
      PendingReads.release(conn);
    });
  }

  /** A request head arrived: no deadline while it is in flight. */
  void requestStarted(HttpConnection conn) {
    State s = states.get(conn);
    if (s != null) {
      s.active++;
      s.deadline = 0;
    }
  }

  /**
   * A response ended: once no request is in flight, the next head must come within
   * {@code idleNanos}. {@code tunnel}: the connection became a WebSocket and leaves HTTP.
   */
  void requestEnded(HttpConnection conn, long idleNanos, boolean tunnel) {
    State s = states.get(conn);
    if (s == null) {
      return;
    }
    if (tunnel) {
      states.remove(conn);
      return;
    }
    if (s.active > 0) {
      s.active--;
    }
    if (s.active == 0) {
      s.deadline = System.nanoTime() + idleNanos;
    }
  }

  /** Closes the connections whose deadline passed (slowloris, idle keep-alive). */
  void sweep(long now) {
    List<HttpConnection> expired = null;
    for (Map.Entry<HttpConnection, State> e : states.entrySet()) {
      long d = e.getValue().deadline;
      if (d != 0 && now - d > 0) {
        if (expired == null) {
          expired = new ArrayList<>();
        }
        expired.add(e.getKey());
      }
    }
    if (expired != null) {
      for (HttpConnection c : expired) {
        states.remove(c);
        c.close();
      }
    }
  }

  /** The next close of {@code conn} lingers (see the class comment). */
  static void lingerOnClose(HttpConnection conn) {
    if (conn instanceof HttpServerConnection internal
        && internal.channelHandlerContext().pipeline().get(LINGER) instanceof Lingering l) {
      l.armed = true;
    }
  }

  /** First in the pipeline: sees raw bytes in and the close going out. */
  static final class Lingering extends ChannelDuplexHandler {
    boolean armed;
    private boolean lingering;
    private ChannelPromise closing;
    private ScheduledFuture<?> timer;

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
      if (!armed || lingering || !(ctx.channel() instanceof DuplexChannel duplex) || !ctx.channel().isActive()) {
        ctx.close(promise);
        return;
      }
      lingering = true;
      closing = promise;
      ctx.flush();
      duplex.shutdownOutput();
      ctx.channel().config().setAutoRead(true);
      timer = ctx.executor().schedule(() -> {
        ctx.close(promise);
      }, LINGER_MS, TimeUnit.MILLISECONDS);
      ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (lingering) {
        ReferenceCountUtil.release(msg); // what the client still sends: read and dropped
        return;
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (lingering) {
        if (timer != null) {
          timer.cancel(false);
        }
        closing.trySuccess();
      }
      super.channelInactive(ctx);
    }
  }
}
