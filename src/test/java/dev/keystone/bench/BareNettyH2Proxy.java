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
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;

import java.io.File;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Not Keystone: the least a JVM proxy does to take HTTP/2 over TLS to HTTP/1.1 backends on one
 * Netty event loop, for {@code CEILINGS=1 bench/tls}. Streams are handled on the connection's
 * own channel (Netty's frame codec, no channel per stream), requests go to two backends round
 * robin over a LIFO pool, answers are copied as status, length and body; flushes of one
 * event-loop turn go out as one. No validation, limits, timeouts, request bodies or errors: a
 * ceiling to compare with, not a design to copy.
 *
 * <p>Usage: {@code BareNettyH2Proxy LISTEN_PORT BACKEND_PORT_A BACKEND_PORT_B CERT KEY}
 */
public final class BareNettyH2Proxy {

  private final int[] backends;
  private final List<ArrayDeque<Channel>> idle = List.of(new ArrayDeque<>(), new ArrayDeque<>());
  private int next;

  private BareNettyH2Proxy(int[] backends) {
    this.backends = backends;
  }

  public static void main(String[] args) throws Exception {
    BareNettyH2Proxy proxy = new BareNettyH2Proxy(new int[] {Integer.parseInt(args[1]), Integer.parseInt(args[2])});
    SslContext tls = SslContextBuilder.forServer(new File(args[3]), new File(args[4])).sslProvider(SslProvider.OPENSSL)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
        .build();
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    new ServerBootstrap().group(loop).channel(EpollServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(tls.newHandler(ch.alloc()), new FlushConsolidationHandler(256, true),
                Http2FrameCodecBuilder.forServer().build(), proxy.new Front());
          }
        })
        .bind("127.0.0.1", Integer.parseInt(args[0])).sync();
    System.out.println("bare netty h2 proxy listening on " + args[0]);
  }

  /** A client connection: each stream's request goes to a pooled backend connection. */
  private final class Front extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof Http2HeadersFrame frame)) {
        ReferenceCountUtil.release(msg); // settings, window updates, request bodies: not forwarded here
        return;
      }
      String path = frame.headers().path().toString();
      if (path.startsWith("/api/")) {
        path = path.substring(4);
      }
      int backend = next++ & 1;
      DefaultHttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1,
          HttpMethod.valueOf(frame.headers().method().toString()), path);
      req.headers().set(HttpHeaderNames.HOST, "127.0.0.1:" + backends[backend]).set("X-Forwarded-For", "127.0.0.1");
      for (Map.Entry<CharSequence, CharSequence> h : frame.headers()) {
        if (h.getKey().charAt(0) != ':') {
          req.headers().add(h.getKey(), h.getValue());
        }
      }
      Channel pooled = idle.get(backend).pollLast();
      if (pooled != null && pooled.isActive()) {
        Back back = (Back) pooled.pipeline().last();
        back.front = ctx;
        back.stream = frame.stream();
        pooled.write(req);
        pooled.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
      } else {
        connect(ctx, frame.stream(), backend, req);
      }
    }

    private void connect(ChannelHandlerContext ctx, Http2FrameStream stream, int backend, DefaultHttpRequest req) {
      Back back = new Back(backend);
      back.front = ctx;
      back.stream = stream;
      new Bootstrap().group(ctx.channel().eventLoop()).channel(EpollSocketChannel.class)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new HttpClientCodec(), back);
            }
          })
          .connect("127.0.0.1", backends[backend]).addListener((ChannelFutureListener) f -> {
            f.channel().write(req);
            f.channel().writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
          });
    }
  }

  /** The backend side: relays the answer on the stream, then returns the connection to the pool. */
  private final class Back extends ChannelInboundHandlerAdapter {
    private final int backend;
    private ChannelHandlerContext front;
    private Http2FrameStream stream;
    private final List<ChannelHandlerContext> toFlush = new ArrayList<>(1);

    Back(int backend) {
      this.backend = backend;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpResponse resp) {
        Http2Headers h = new DefaultHttp2Headers().status(resp.status().codeAsText());
        CharSequence length = resp.headers().get(HttpHeaderNames.CONTENT_LENGTH);
        if (length != null) {
          h.set(HttpHeaderNames.CONTENT_LENGTH, length);
        }
        CharSequence type = resp.headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (type != null) {
          h.set(HttpHeaderNames.CONTENT_TYPE, type);
        }
        front.write(new DefaultHttp2HeadersFrame(h, false).stream(stream));
      }
      if (msg instanceof HttpContent content) {
        boolean last = msg instanceof LastHttpContent;
        if (content.content().isReadable() || last) {
          front.write(new DefaultHttp2DataFrame(content.content().retain(), last).stream(stream));
        }
        content.release();
        if (last) {
          toFlush.add(front);
          front = null;
          stream = null;
          idle.get(backend).addLast(ctx.channel());
        }
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      for (ChannelHandlerContext f : toFlush) {
        f.flush();
      }
      toFlush.clear();
    }
  }
}
