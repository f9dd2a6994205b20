package dev.keystone.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.HttpServerConnection;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The client connections of one event loop and their timers. A connection waiting for a request
 * head has a deadline: {@code header_read} when new, {@code idle} between requests. A connection
 * with a request in flight has none: that request's own timers apply (so a request waiting for a
 * slow backend is never cut by the idle timeout). One periodic sweep checks all deadlines
 * instead of a timer per request.
 *
 * <p>Each connection's pipeline gets a {@link ClientChannel} first (reads gated so a client that
 * does not read cannot make the gateway buffer without limit; a lingering close after early
 * answers) and {@link ChunkedFraming} before the request decoder.
 */
final class ClientConnections {

  static final String CHANNEL = "keystone-client-channel";
  static final String HEADS = "keystone-heads";

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
      // Reads of at most 16 KiB: what one read brings is decoded at once, so this bounds what a
      // client that sends without reading can make the gateway hold before the gate closes.
      internal.channelHandlerContext().channel().config()
          .setRecvByteBufAllocator(new io.netty.channel.AdaptiveRecvByteBufAllocator(64, 2048, 16 * 1024));
      if (p.get(CHANNEL) == null) {
        ClientChannel gate = new ClientChannel(conn);
        p.addFirst(CHANNEL, gate);
        if (p.get(StrictRequestDecoder.NAME) != null) {
          p.addAfter(StrictRequestDecoder.NAME, HEADS, new ClientChannel.Heads(gate));
          p.addBefore(StrictRequestDecoder.NAME, ChunkedFraming.NAME, new ChunkedFraming());
        }
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
    if (conn instanceof HttpServerConnection internal
        && internal.channelHandlerContext().pipeline().get(CHANNEL) instanceof ClientChannel gate) {
      gate.requestDone(internal.channelHandlerContext().pipeline().context(CHANNEL));
    }
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
        forceClose(c); // nothing in flight; a client that reads nothing must not hold it open
      }
    }
  }

  /**
   * Closes {@code conn} now, dropping what it has not sent: for a client that does not read, a
   * graceful close (which first sends what is queued) would never end.
   */
  static void forceClose(HttpConnection conn) {
    if (conn instanceof HttpServerConnection internal) {
      // Closed from below Vert.x's own handler, which would wait for the queued writes first.
      ChannelHandlerContext ctx = internal.channelHandlerContext().pipeline().context(CHANNEL);
      if (ctx != null) {
        ctx.close();
      } else {
        io.netty.channel.Channel ch = internal.channelHandlerContext().channel();
        ch.unsafe().close(ch.voidPromise());
      }
    } else {
      conn.close();
    }
  }

  /**
   * Cuts a response that has started: what is queued goes out as far as the socket takes it
   * now, then the connection closes, so the client sees a truncated response.
   */
  static void cut(HttpConnection conn) {
    StrictRequestDecoder.flushNow(conn);
    if (conn instanceof HttpServerConnection internal) {
      // A reset, not a FIN: where the close ends the body (HTTP/1.0, no length), a FIN would
      // make the cut answer look complete (attack round 4, R4-7). A connection already closed
      // (cut before, or gone) has nothing left to cut: setting the option would throw (R5-3).
      io.netty.channel.Channel ch = internal.channelHandlerContext().channel();
      if (ch.isOpen()) {
        try {
          ch.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
        } catch (io.netty.channel.ChannelException closedMeanwhile) {
          // closed between the check and the option: nothing to cut
        }
      }
    }
    forceClose(conn);
  }

  /** {@code conn} is about to become a WebSocket tunnel: its bytes are no HTTP from now on. */
  static void tunnel(HttpConnection conn) {
    if (conn instanceof HttpServerConnection internal
        && internal.channelHandlerContext().pipeline().get(ChunkedFraming.NAME) instanceof ChunkedFraming f) {
      f.off();
    }
  }

  /** The next close of {@code conn} lingers (see the class comment). */
  static void lingerOnClose(HttpConnection conn) {
    if (conn instanceof HttpServerConnection internal
        && internal.channelHandlerContext().pipeline().get(CHANNEL) instanceof ClientChannel l) {
      l.armed = true;
    }
  }
}
