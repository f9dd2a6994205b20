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
 *
 * <p>Reading is gated, so that a client cannot make the gateway buffer without limit: nothing
 * more is read from a connection while its responses are not being taken (the channel is not
 * writable), nor while more than {@link #MAX_QUEUED} pipelined requests wait their turn. A
 * client that sends and never reads thus stops itself, with a bounded amount held for it.
 */
final class ClientConnections {

  static final String LINGER = "keystone-linger";
  static final String HEADS = "keystone-heads";
  static final long LINGER_MS = 5000;
  /** Pipelined requests read ahead of the one being answered, at most. */
  static final int MAX_QUEUED = 8;

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
      if (p.get(LINGER) == null) {
        Lingering gate = new Lingering(conn);
        p.addFirst(LINGER, gate);
        if (p.get(StrictRequestDecoder.NAME) != null) {
          p.addAfter(StrictRequestDecoder.NAME, HEADS, new Heads(gate));
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
        && internal.channelHandlerContext().pipeline().get(LINGER) instanceof Lingering gate) {
      gate.requestDone(internal.channelHandlerContext().pipeline().context(LINGER));
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
      ChannelHandlerContext ctx = internal.channelHandlerContext().pipeline().context(LINGER);
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
        && internal.channelHandlerContext().pipeline().get(LINGER) instanceof Lingering l) {
      l.armed = true;
    }
  }

  /** Right after the request decoder: counts the request heads read and not yet answered. */
  static final class Heads extends io.netty.channel.ChannelInboundHandlerAdapter {
    private final Lingering gate;

    Heads(Lingering gate) {
      this.gate = gate;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof io.netty.handler.codec.http.HttpRequest && ++gate.queued > MAX_QUEUED) {
        // Stop now, within the current read: Netty would otherwise go on reading (and this
        // decoder decoding) whatever the client keeps sending.
        gate.hold(ctx.channel());
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * First in the pipeline: sees raw bytes in, and the reads and the close going out. Gates reads
   * (see the class comment) and lingers on close.
   */
  static final class Lingering extends ChannelDuplexHandler {
    boolean armed;
    private boolean lingering;
    private ChannelPromise closing;
    private ScheduledFuture<?> timer;
    /** Request heads read and not yet answered. */
    int queued;
    private boolean readHeld;
    private final HttpConnection conn;

    Lingering(HttpConnection conn) {
      this.conn = conn;
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
      if (!lingering && (!ctx.channel().isWritable() || queued > MAX_QUEUED)) {
        hold(ctx.channel()); // read again once the client takes its responses (see release)
        return;
      }
      ctx.read();
    }

    /** Stops reading; Netty reads on its own while auto-read is on, so that is turned off too. */
    void hold(io.netty.channel.Channel ch) {
      if (!lingering) {
        readHeld = true;
        ch.config().setAutoRead(false);
      }
    }

    void requestDone(ChannelHandlerContext ctx) {
      if (queued > 0) {
        queued--;
      }
      release(ctx);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
      if (!ctx.channel().isWritable()) {
        hold(ctx.channel());
      }
      release(ctx);
      super.channelWritabilityChanged(ctx);
    }

    private void release(ChannelHandlerContext ctx) {
      if (readHeld && ctx.channel().isWritable() && queued <= MAX_QUEUED) {
        readHeld = false;
        if (PendingReads.vertxReads(conn)) {
          ctx.channel().config().setAutoRead(true); // reads at once; otherwise Vert.x turns it on when ready
        }
      }
    }

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
