package dev.keystone.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Not Keystone: the least a JVM proxy can do on one Netty event loop, for {@code CEILINGS=1
 * bench/run}. It strips {@code /api}, round-robins over two backends with a LIFO pool of
 * kept-alive connections, drops the Connection header both ways and writes with one flush per
 * read batch. No validation, timeouts, retries, logging, pipelining or error handling: it shows
 * how far a rewrite of Keystone's forwarding on bare Netty could go on this machine, not a
 * design to copy.
 *
 * <p>Usage: {@code BareNettyProxy LISTEN_PORT BACKEND_PORT_A BACKEND_PORT_B}
 */
public final class BareNettyProxy {

  private final int[] backends;
  private final List<ArrayDeque<Channel>> idle = List.of(new ArrayDeque<>(), new ArrayDeque<>());
  private int next;

  private BareNettyProxy(int[] backends) {
    this.backends = backends;
  }

  /**
   * {@code PORT BACKEND_A BACKEND_B [CERT KEY]}: with a certificate and key (PEM), the listener
   * speaks TLS (BoringSSL, HTTP/1.1): bench/tls's ceiling for HTTPS keep-alive and handshakes.
   * {@code h2} after them: HTTP/2 only, each stream a channel of Netty's multiplexer with this
   * proxy's HTTP/1.1 handler behind Netty's frame-to-object codec (as Keystone's streams are).
   */
  public static void main(String[] args) throws Exception {
    BareNettyProxy proxy = new BareNettyProxy(new int[] {Integer.parseInt(args[1]), Integer.parseInt(args[2])});
    boolean h2 = args.length > 5 && args[5].equals("h2");
    io.netty.handler.ssl.SslContextBuilder b = args.length < 5 ? null : io.netty.handler.ssl.SslContextBuilder
        .forServer(new java.io.File(args[3]), new java.io.File(args[4])).sslProvider(io.netty.handler.ssl.SslProvider.OPENSSL);
    if (h2) {
      b.applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
          io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
          io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
          io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "h2"));
    }
    io.netty.handler.ssl.SslContext tls = b == null ? null : b.build();
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    new ServerBootstrap().group(loop).channel(EpollServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            if (tls != null) {
              ch.pipeline().addLast(tls.newHandler(ch.alloc()));
            }
            if (h2) { // a channel per stream, as Netty's multiplexer makes them, each with the HTTP/1 proxy
              ch.pipeline().addLast(new io.netty.handler.flush.FlushConsolidationHandler(256, true),
                  io.netty.handler.codec.http2.Http2FrameCodecBuilder.forServer().build(),
                  new io.netty.handler.codec.http2.Http2MultiplexHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel stream) {
                      stream.pipeline().addLast(new io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec(true),
                          proxy.new Front());
                    }
                  }));
              return;
            }
            ch.pipeline().addLast(new HttpServerCodec(), proxy.new Front());
          }
        })
        .bind("127.0.0.1", Integer.parseInt(args[0])).sync();
    System.out.println("bare netty proxy listening on " + args[0]);
  }

  /** The client side of one connection: forwards each request to a pooled backend connection. */
  private final class Front extends ChannelInboundHandlerAdapter {
    private ChannelHandlerContext ctx;
    private Channel upstream;
    private List<Object> waiting; // messages read while the backend connection is opening
    private int backend;
    private boolean closeAfter; // the client asked for Connection: close (bench/tls's handshakes)

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      this.ctx = ctx;
      if (msg instanceof HttpRequest req) {
        if (req.uri().startsWith("/api/")) {
          req.setUri(req.uri().substring(4));
        }
        backend = next++ & 1;
        closeAfter = req.headers().contains(HttpHeaderNames.CONNECTION, "close", true);
        req.headers().remove(HttpHeaderNames.CONNECTION)
            .set(HttpHeaderNames.HOST, "127.0.0.1:" + backends[backend])
            .set("X-Forwarded-For", "127.0.0.1");
        Channel pooled = idle.get(backend).pollLast();
        if (pooled != null && pooled.isActive()) {
          upstream = pooled;
          ((Back) pooled.pipeline().last()).front = this;
        } else {
          connect(msg);
          return;
        }
      }
      if (waiting != null) {
        waiting.add(msg);
      } else {
        upstream.write(msg);
      }
    }

    private void connect(Object first) {
      waiting = new ArrayList<>(2);
      waiting.add(first);
      Back back = new Back();
      back.front = this;
      new Bootstrap().group(ctx.channel().eventLoop()).channel(EpollSocketChannel.class)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new HttpClientCodec(), back);
            }
          })
          .connect("127.0.0.1", backends[backend]).addListener((ChannelFutureListener) f -> {
            upstream = f.channel();
            waiting.forEach(upstream::write);
            waiting = null;
            upstream.flush();
          });
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (upstream != null && waiting == null) {
        upstream.flush();
      }
    }
  }

  /** The backend side: relays the response, then returns the connection to the pool. */
  private final class Back extends ChannelInboundHandlerAdapter {
    private Front front;
    private Front toFlush;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpResponse resp) {
        resp.headers().remove(HttpHeaderNames.CONNECTION);
      }
      Front f = front;
      toFlush = f;
      if (msg instanceof LastHttpContent && f.closeAfter) {
        f.ctx.writeAndFlush(msg).addListener(ChannelFutureListener.CLOSE);
      } else {
        f.ctx.write(msg);
      }
      if (msg instanceof LastHttpContent) {
        front = null;
        f.upstream = null;
        idle.get(f.backend).addLast(ctx.channel());
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (toFlush != null) {
        toFlush.ctx.flush();
        toFlush = null;
      }
    }
  }
}
