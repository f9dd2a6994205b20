package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Counts the bytes a backend connection has received (after TLS, if any). The retry rule
 * needs to know whether any byte of a response arrived before the connection closed (a
 * half-sent status line is an answer begun, not a closed idle connection), which the HTTP client
 * does not say.
 */
final class ReadBytes extends ChannelInboundHandlerAdapter {

  static final String NAME = "keystone-read-bytes";

  private long total;

  /** Installs a counter on a new backend connection. */
  static void install(HttpConnection conn) {
    if (conn instanceof ConnectionBase base && base.channelHandlerContext().pipeline().get(NAME) == null) {
      io.netty.channel.ChannelPipeline p = base.channelHandlerContext().pipeline();
      if (p.get("ssl") != null) {
        p.addAfter("ssl", NAME, new ReadBytes()); // plain bytes: TLS records of its own (tickets) are no answer
      } else {
        p.addFirst(NAME, new ReadBytes());
      }
    }
  }

  /** The counter of {@code conn}, or null when it has none. */
  static ReadBytes of(HttpConnection conn) {
    return conn instanceof ConnectionBase base && base.channelHandlerContext().pipeline().get(NAME) instanceof ReadBytes r
        ? r : null;
  }

  long total() {
    return total;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf b) {
      total += b.readableBytes();
    }
    ctx.fireChannelRead(msg);
  }
}
