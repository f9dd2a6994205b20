package dev.keystone.proxy;

import dev.keystone.model.Backend;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.impl.headers.HeadersMultiMap;

import java.util.concurrent.TimeUnit;

/**
 * A WebSocket upgrade on Netty channels, once the backend answered 101: the answer goes to the
 * client, then both connections leave HTTP (their codecs removed; bytes either decoder had read
 * past the heads go on as they are) and become a byte tunnel, with backpressure both ways: a
 * side stops reading while the other cannot take more. The tunnel holds no reference to the
 * config, so reloads never touch open WebSockets; one that stays silent for the idle timeout is
 * closed.
 */
final class WebSocketSplice {

  private WebSocketSplice() {
  }

  /**
   * A WebSocket handshake: an HTTP/1.1 GET without a body asking to upgrade (RFC 6455). Anything
   * else with an Upgrade header is forwarded as a plain request (Upgrade is hop-by-hop, so it is
   * dropped).
   */
  static boolean isHandshake(Exchange ex) {
    RequestHead req = ex.head();
    return isHandshake(req.method(), req.version(), req.headers(), ClientBody.declared(ex));
  }

  /** {@link #isHandshake(Exchange)} on a head as decoded; {@code body}: it announces a body. */
  static boolean isHandshake(io.netty.handler.codec.http.HttpMethod method, io.netty.handler.codec.http.HttpVersion version,
                             io.netty.handler.codec.http.HttpHeaders headers, boolean body) {
    // RFC 9110 section 7.8: an Upgrade in an HTTP/1.0 request is ignored (C1-2).
    if (method != io.netty.handler.codec.http.HttpMethod.GET || body
        || version != io.netty.handler.codec.http.HttpVersion.HTTP_1_1) {
      return false;
    }
    String upgrade = headers.get("Upgrade");
    String connection = headers.get("Connection");
    return upgrade != null && upgrade.equalsIgnoreCase("websocket")
        && connection != null && connection.toLowerCase(java.util.Locale.ROOT).contains("upgrade");
  }

  /** Whether a 101 names the protocol the client asked for (RFC 9110 section 15.2.2), else why not. */
  static String refusal(HttpResponse r, Backend backend) {
    String protocol = r.headers().get("Upgrade");
    if (protocol != null && protocol.trim().equalsIgnoreCase("websocket")) {
      return null;
    }
    return "websocket handshake with " + backend.name() + ": 101 switching to "
        + (protocol == null ? "no protocol (no Upgrade header)" : "'" + protocol + "'") + ", not websocket";
  }

  /** Answers the client with the backend's 101 {@code r} and joins the two connections. */
  static void splice(Exchange ex, BackendConnection conn, HttpResponse r) {
    NettyClientSide side = (NettyClientSide) ex.client();
    Channel client = side.channel();
    Channel backend = conn.channel;
    HttpHeaders h = HeadersMultiMap.httpHeaders();
    HopByHop.copy(r.headers(), h::add, null);
    h.set("Connection", "Upgrade").set("Upgrade", r.headers().get("Upgrade"));
    h.set("X-Request-ID", ex.requestId());
    h.set("Via", ForwardedHeaders.appended(r.headers().getAll("Via"), ForwardedHeaders.via(r.protocolVersion())));
    ReferenceCountUtil.release(r);
    ex.response().status(101);
    ex.answered = true;
    ex.abortUpstream = null;
    client.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS,
        Unpooled.EMPTY_BUFFER, h, HeadersMultiMap.httpHeaders()));
    java.util.List<ByteBuf> behind = side.becameTunnel();

    // In this order: both encoders out (bytes written from now on are the tunnel's), then each
    // side's relay in, then the decoders out - what a decoder still holds goes to the relay, and
    // through it to the other side as it is.
    ChannelPipeline cp = client.pipeline();
    ChannelPipeline bp = backend.pipeline();
    remove(cp, ResponseEncoder.NAME);
    remove(bp, "encoder");
    for (ByteBuf b : behind) { // what the client sent behind its handshake: the tunnel's first bytes
      backend.write(b, backend.voidPromise());
    }
    ClientConnections.tunnel(client);
    Relay toBackend = new Relay(backend);
    Relay toClient = new Relay(client);
    cp.replace(ClientConnection.NAME, "keystone-tunnel", toBackend);
    // Silent for the longer of idle and response_header, a tunnel closes (docs/configuration.md):
    // a WebSocket's next message can be an answer the backend takes as long to make as a head.
    dev.keystone.model.Timeouts t = ex.snapshot().plan().timeouts();
    long idleMillis = Math.max(1, Math.max(t.idle().toMillis(), t.responseHeader().toMillis()));
    bp.replace(BackendConnection.NAME, "keystone-tunnel", toClient);
    bp.addBefore("keystone-tunnel", "keystone-tunnel-idle", new IdleStateHandler(0, 0, idleMillis, TimeUnit.MILLISECONDS));
    for (String name : new String[] {ClientConnections.HEADS, StrictRequestDecoder.NAME, ClientConnections.CHANNEL}) {
      remove(cp, name);
    }
    for (String name : new String[] {ResponseFraming.METHODS, "decoder"}) {
      remove(bp, name);
    }
    client.config().setAutoRead(true);
    backend.config().setAutoRead(true);
    client.flush();
    backend.flush();
    Completion.done(ex, Completion.Outcome.COMPLETE); // the exchange is now a tunnel: count and log the upgrade
  }

  private static void remove(ChannelPipeline p, String name) {
    if (p.get(name) != null) {
      p.remove(name);
    }
  }

  /** One direction: what its channel reads goes to {@code peer}. */
  private static final class Relay extends ChannelInboundHandlerAdapter {
    private final Channel peer;
    private boolean pending;

    Relay(Channel peer) {
      this.peer = peer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf b) || !b.isReadable()) {
        ReferenceCountUtil.release(msg); // the decoders' end-of-head markers
        return;
      }
      peer.write(b, peer.voidPromise());
      pending = true;
      if (!peer.isWritable()) {
        peer.flush();
        pending = false;
        ctx.channel().config().setAutoRead(false); // on until the peer drains (its relay's writability)
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (pending) {
        pending = false;
        peer.flush();
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        peer.config().setAutoRead(true); // this side drained: the other may read again
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      // What was relayed goes out, then the other side closes too.
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof IdleStateEvent) {
        ctx.close();
        peer.close();
      } else {
        ctx.fireUserEventTriggered(evt);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
