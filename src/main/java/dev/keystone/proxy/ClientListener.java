package dev.keystone.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.ServerChannel;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy's listening socket on Netty, shared by the {@link ProxyServer}s of all event loops:
 * bound once (the first server to join binds it, so an ephemeral port is one port for all), each
 * accepted connection handed round-robin to a joined server's event loop, where its pipeline is
 * built and it stays. The servers leave when they stop; the socket closes when the last one has.
 *
 * <p>Connections are accepted on Vert.x's acceptor thread, not on a loop that also serves
 * requests: accepted on the busy loop, 16 at a time between rounds of everyone's reads, the last
 * of 256 new connections waited 450 ms for their first request to be read (p99 25x nginx's in
 * {@code bench/run} at 256 connections).
 */
public final class ClientListener {

  private static final Logger LOG = Logger.getLogger("keystone.proxy");

  private record Member(EventLoop loop, Consumer<Channel> init) {
  }

  private final List<Member> members = new CopyOnWriteArrayList<>();
  private final AtomicInteger turn = new AtomicInteger();
  private Future<Void> bound;
  private volatile Channel server;

  /**
   * Adds a server: connections accepted from now on may go to {@code loop}, built by
   * {@code init} there. The first call binds {@code host:port}; the future completes once bound.
   */
  synchronized Future<Void> join(io.netty.channel.EventLoopGroup acceptor, EventLoop loop,
                                 ChannelFactory<? extends ServerChannel> channels, String host, int port, Consumer<Channel> init) {
    members.add(new Member(loop, init));
    if (bound == null) {
      Promise<Void> p = Promise.promise();
      bound = p.future();
      new ServerBootstrap()
          .group(acceptor, loop) // the child group is never used: Distributor places children
          .channelFactory(channels)
          .option(ChannelOption.SO_BACKLOG, 1024)
          .option(ChannelOption.SO_REUSEADDR, true)
          .handler(new Distributor())
          .childHandler(new ChannelInboundHandlerAdapter()) // never used: Distributor places children
          .bind(new InetSocketAddress(host, port))
          .addListener((io.netty.channel.ChannelFutureListener) f -> {
            if (f.isSuccess()) {
              server = f.channel();
              p.complete();
            } else {
              p.fail(f.cause());
            }
          });
    }
    return bound;
  }

  /** Removes the server of {@code loop}; the last one to leave closes the socket. */
  synchronized void leave(EventLoop loop) {
    members.removeIf(m -> m.loop == loop);
    if (members.isEmpty()) {
      stopAccepting();
    }
  }

  /** Closes the listening socket: no new connections (a graceful stop). */
  void stopAccepting() {
    Channel s = server;
    if (s != null) {
      s.close();
    }
  }

  /** The bound port (the actual one when 0 was asked for). */
  public int port() {
    Channel s = server;
    return s == null ? -1 : ((InetSocketAddress) s.localAddress()).getPort();
  }

  /** Takes each accepted connection instead of Netty's acceptor and registers it on a member's loop. */
  private final class Distributor extends ChannelInboundHandlerAdapter {

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Channel child = (Channel) msg;
      List<Member> m = members;
      if (m.isEmpty()) {
        child.unsafe().closeForcibly();
        return;
      }
      Member to = m.get(Math.floorMod(turn.getAndIncrement(), m.size()));
      child.pipeline().addLast(new ChannelInitializer<>() {
        @Override
        protected void initChannel(Channel ch) {
          to.init.accept(ch);
        }
      });
      to.loop.register(child).addListener(f -> {
        if (!f.isSuccess()) {
          LOG.log(Level.FINE, "could not register an accepted connection", f.cause());
          child.unsafe().closeForcibly();
        }
      });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // Out of file descriptors, say: accepting pauses a moment instead of spinning on the error.
      LOG.log(Level.WARNING, "accepting a client connection failed: " + cause);
      ctx.channel().config().setAutoRead(false);
      ctx.channel().eventLoop().schedule(() -> ctx.channel().config().setAutoRead(true), 1, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
