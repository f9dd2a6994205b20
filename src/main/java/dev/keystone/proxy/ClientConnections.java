package dev.keystone.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;

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
 * answers) and {@link ChunkedFraming} before the request decoder. Connections are known by their
 * Netty channel.
 */
final class ClientConnections {

  static final String CHANNEL = "keystone-client-channel";
  static final String HEADS = "keystone-heads";

  /** A connection's requests in flight, and when its next request head must have arrived. */
  private static final class State {
    int active;
    long deadline; // nanos; 0 while a request is in flight
  }

  private final Map<Channel, State> states = new IdentityHashMap<>();

  /** A new connection: it has {@code headerReadNanos} to send its first request head. */
  void opened(Channel ch, long headerReadNanos) {
    // Reads of at most 16 KiB: what one read brings is decoded at once, so this bounds what a
    // client that sends without reading can make the gateway hold before the gate closes.
    ch.config().setRecvByteBufAllocator(new io.netty.channel.AdaptiveRecvByteBufAllocator(64, 2048, 16 * 1024));
    State s = new State();
    s.deadline = System.nanoTime() + headerReadNanos;
    states.put(ch, s);
    ch.closeFuture().addListener(f -> states.remove(ch));
  }

  /** Connections open now (for a graceful stop). */
  java.util.Set<Channel> open() {
    return states.keySet();
  }

  /** Whether {@code ch} has a request in flight. */
  boolean busy(Channel ch) {
    State s = states.get(ch);
    return s != null && s.active > 0;
  }

  /** A request head arrived: no deadline while it is in flight. */
  void requestStarted(Channel conn) {
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
  void requestEnded(Channel conn, long idleNanos, boolean tunnel) {
    if (conn.pipeline().get(CHANNEL) instanceof ClientChannel gate) {
      gate.requestDone(conn.pipeline().context(CHANNEL));
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
    List<Channel> expired = null;
    for (Map.Entry<Channel, State> e : states.entrySet()) {
      long d = e.getValue().deadline;
      if (d != 0 && now - d > 0) {
        if (expired == null) {
          expired = new ArrayList<>();
        }
        expired.add(e.getKey());
      }
    }
    if (expired != null) {
      for (Channel c : expired) {
        states.remove(c);
        if (Http2Clients.isHttp2(c)) {
          // GOAWAY first (RFC 9113 section 6.8): a request the client sends meanwhile is known
          // unprocessed and retried, not lost to a bare close. The codec closes once it is
          // written, or after timeouts.shutdown for a client that does not read.
          c.close();
        } else {
          forceClose(c); // nothing in flight; a client that reads nothing must not hold it open
        }
      }
    }
  }

  /**
   * Closes {@code conn} now, dropping what it has not sent: for a client that does not read, a
   * graceful close (which first sends what is queued) would never end.
   */
  static void forceClose(Channel ch) {
    // Closed from the pipeline's first handler: the handlers above would wait for queued writes.
    ChannelHandlerContext ctx = ch.pipeline().context(CHANNEL);
    if (ctx != null) {
      ctx.close();
    } else {
      ch.unsafe().close(ch.voidPromise());
    }
  }

  /**
   * Cuts a response that has started: what is queued goes out as far as the socket takes it
   * now, then the connection closes, so the client sees a truncated response.
   */
  static void cut(Channel ch) {
    ch.flush();
    // A reset, not a FIN: where the close ends the body (HTTP/1.0, no length), a FIN would
    // make the cut answer look complete (attack round 4, R4-7). A connection already closed
    // (cut before, or gone) has nothing left to cut: setting the option would throw (R5-3).
    if (ch.isOpen()) {
      try {
        ch.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
      } catch (io.netty.channel.ChannelException closedMeanwhile) {
        // closed between the check and the option: nothing to cut
      }
    }
    forceClose(ch);
  }

  /** {@code ch} is about to become a WebSocket tunnel: its bytes are no HTTP from now on. */
  static void tunnel(Channel ch) {
    if (ch.pipeline().get(ChunkedFraming.NAME) instanceof ChunkedFraming f) {
      f.off();
    }
  }

  /** The next close of {@code ch} lingers (see the class comment). */
  static void lingerOnClose(Channel ch) {
    if (ch.pipeline().get(CHANNEL) instanceof ClientChannel l) {
      l.armed = true;
    }
  }
}
