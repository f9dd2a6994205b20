package dev.keystone.proxy;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * First in a client connection's pipeline: sees raw bytes in, and the reads and the close going
 * out.
 *
 * <p>Reads are gated, so that a client cannot make the gateway buffer without limit: nothing more
 * is read while the client's responses are not being taken (the channel is not writable), nor
 * while more than {@link #MAX_QUEUED} pipelined requests wait their turn ({@link Heads}, after
 * the decoder, counts them). A client that sends and never reads thus stops itself, with a
 * bounded amount held for it.
 *
 * <p>A close armed by {@link ClientConnections#lingerOnClose} lingers, as nginx's
 * {@code lingering_close}: the gateway stops writing, reads and drops what still arrives, and
 * closes once the client does, or has sent nothing for {@link #LINGER_MS} ({@code
 * lingering_timeout}), or after {@link #LINGER_MAX_MS} in all ({@code lingering_time}). An
 * immediate close with unread bytes makes the kernel send a reset, which can destroy the answer
 * before the client read it; a client still sending has likely not read it yet (attack s15 F1:
 * a fixed 5 s cut a client that read its 4 MB answer after 7 s, sending meanwhile).
 */
final class ClientChannel extends ChannelDuplexHandler {

  static final long LINGER_MS = 5000;
  static final long LINGER_MAX_MS = 30_000;
  /** Pipelined requests read ahead of the one being answered, at most. */
  static final int MAX_QUEUED = 8;

  /** A close from now on lingers. */
  boolean armed;
  private boolean lingering;
  private ChannelPromise closing;
  private ScheduledFuture<?> timer;
  /** When the lingering close began (System.nanoTime). */
  private long lingerStart;
  /** Request heads read and not yet answered. */
  int queued;
  private boolean readHeld;
  /** Whether the server above wants reads now (it may hold them itself, e.g. for a paused body). */
  private final java.util.function.BooleanSupplier serverReads;

  ClientChannel(java.util.function.BooleanSupplier serverReads) {
    this.serverReads = serverReads;
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

  /** Whether the gate holds reads now (the server above then leaves auto-read off). */
  boolean holding() {
    return readHeld;
  }

  private void release(ChannelHandlerContext ctx) {
    if (readHeld && ctx.channel().isWritable() && queued <= MAX_QUEUED) {
      readHeld = false;
      if (serverReads.getAsBoolean()) {
        ctx.channel().config().setAutoRead(true); // reads at once; otherwise the server turns it on when ready
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
    io.netty.handler.ssl.SslHandler tls = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class);
    if (tls != null) {
      // TLS's close_notify before the FIN: without it a client cannot tell the end of an answer
      // from a cut (a body without a length ends with the connection; OpenSSL says "unexpected eof").
      tls.closeOutbound().addListener(f -> duplex.shutdownOutput());
    } else {
      duplex.shutdownOutput();
    }
    ctx.channel().config().setAutoRead(true);
    lingerStart = System.nanoTime();
    lingerFor(ctx, LINGER_MS);
    ctx.read();
  }

  /** (Re)arms the end of the lingering close {@code millis} from now. */
  private void lingerFor(ChannelHandlerContext ctx, long millis) {
    if (timer != null) {
      timer.cancel(false);
    }
    timer = ctx.executor().schedule(() -> {
      ctx.close(closing);
    }, millis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (lingering) {
      ReferenceCountUtil.release(msg); // what the client still sends: read and dropped
      long left = LINGER_MAX_MS - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lingerStart);
      if (left > 0) {
        lingerFor(ctx, Math.min(LINGER_MS, left)); // still sending: it has not read the answer yet
      }
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

  /** Right after the request decoder: counts the request heads read and not yet answered. */
  static final class Heads extends io.netty.channel.ChannelInboundHandlerAdapter {
    private final ClientChannel gate;

    Heads(ClientChannel gate) {
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
}
