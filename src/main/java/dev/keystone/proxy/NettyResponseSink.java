package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.vertx.core.http.impl.headers.HeadersMultiMap;

/**
 * The response side of a {@link NettyClientSide}: a state machine (open, head written, ended or cut)
 * over the client channel. The head's framing is decided once, when it is written: a length when
 * known, chunked for HTTP/1.1, the close for HTTP/1.0; nothing for the answer to a HEAD or a
 * status without a body. Whether the connection stays open is decided then too (the client's
 * {@code Connection}, the version, a close asked for by the gateway).
 *
 * <p>Body writes are flushed once per event-loop turn (all the bytes relayed from one backend
 * read go out in one system call); heads that end a response are flushed at once.
 */
final class NettyResponseSink implements ResponseSink {

  /** CUT: started and broken off (not ended: whoever waits for the end hears of a close instead). */
  private enum Stage { OPEN, HEAD_WRITTEN, ENDED, CUT }

  private final NettyClientSide side;
  private final Channel channel;
  private final ResponseEncoder encoder;
  private Stage stage = Stage.OPEN;
  private int status = 200;
  private HttpHeaders headers;
  private HttpHeaders trailers;
  private boolean closeAfter;
  /** Decided when the head is written: the connection stays open after this response. */
  private boolean keepAlive;
  private long written;
  /** Something was written and not flushed. */
  private boolean flushQueued;
  private Runnable drain;

  NettyResponseSink(NettyClientSide side, Channel channel, ResponseEncoder encoder) {
    this.side = side;
    this.channel = channel;
    this.encoder = encoder;
  }

  @Override
  public int status() {
    return status;
  }

  @Override
  public void status(int code) {
    status = code;
  }

  @Override
  public HttpHeaders headers() {
    if (headers == null) {
      headers = HeadersMultiMap.httpHeaders();
    }
    return headers;
  }

  @Override
  public boolean adoptHeaders(HttpHeaders h) {
    if (headers != null || stage != Stage.OPEN) {
      return false;
    }
    headers = h;
    return true;
  }

  @Override
  public boolean headWritten() {
    return stage != Stage.OPEN;
  }

  @Override
  public boolean ended() {
    return stage == Stage.ENDED;
  }

  @Override
  public boolean closed() {
    return !channel.isActive();
  }

  @Override
  public long bytesWritten() {
    return written;
  }

  @Override
  public void writeContinue() {
    if (stage == Stage.OPEN && !closed()) {
      channel.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
          Unpooled.EMPTY_BUFFER, HeadersMultiMap.httpHeaders(), HeadersMultiMap.httpHeaders()));
    }
  }

  @Override
  public void writeInterim(HttpHeaders interim) {
    if (stage == Stage.OPEN && !closed()) {
      HttpHeaders h = HeadersMultiMap.httpHeaders();
      h.add(interim);
      channel.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(103),
          Unpooled.EMPTY_BUFFER, h, HeadersMultiMap.httpHeaders()));
    }
  }

  @Override
  public void write(ByteBuf chunk) {
    if (stage == Stage.ENDED || stage == Stage.CUT || closed()) {
      chunk.release(); // nothing more reaches this client
      return;
    }
    if (stage == Stage.OPEN) {
      head();
    }
    if (bodyless()) {
      chunk.release(); // the answer to a HEAD, a 204 or a 304 has no body on the wire
      return;
    }
    written += chunk.readableBytes();
    channel.write(new DefaultHttpContent(chunk), channel.voidPromise());
    flushQueued = true;
  }

  @Override
  public void flush() {
    if (flushQueued) {
      flushNow();
    }
  }

  @Override
  public void writeHead() {
    if (stage == Stage.OPEN && !closed()) {
      head();
      flushNow();
    }
  }

  @Override
  public void end(String body) {
    if (stage == Stage.ENDED || stage == Stage.CUT || closed()) {
      return;
    }
    ByteBuf bytes = body.isEmpty() ? Unpooled.EMPTY_BUFFER
        : ByteBufUtil.writeUtf8(channel.alloc(), body);
    if (stage == Stage.OPEN) {
      lengthUnlessFramed(bytes.readableBytes());
      head();
    }
    if (bodyless()) {
      bytes.release();
      bytes = Unpooled.EMPTY_BUFFER;
    }
    written += bytes.readableBytes();
    complete(new DefaultLastHttpContent(bytes));
  }

  @Override
  public void endAndClose(String body) {
    closeAfterEnd();
    end(body);
  }

  @Override
  public void closeAfterEnd() {
    closeAfter = true;
    if (stage == Stage.OPEN) {
      headers().set("Connection", "close");
    }
    ClientConnections.lingerOnClose(channel);
  }

  @Override
  public boolean writeQueueFull() {
    return !channel.isWritable();
  }

  @Override
  public long bytesBeforeDrained() {
    return channel.bytesBeforeWritable();
  }

  @Override
  public void onDrain(Runnable task) {
    drain = task;
  }

  /** The channel can take writes again: whoever waits for that goes on. */
  void writable() {
    Runnable d = drain;
    if (d != null && channel.isWritable()) {
      drain = null;
      d.run();
    }
  }

  @Override
  public HttpHeaders trailers() {
    if (trailers == null) {
      trailers = HeadersMultiMap.httpHeaders();
    }
    return trailers;
  }

  @Override
  public void finish(boolean close) {
    if (stage == Stage.ENDED || stage == Stage.CUT || closed()) {
      return;
    }
    if (close) {
      closeAfter = true;
    }
    if (stage == Stage.OPEN) {
      if (side.method() != HttpMethod.HEAD) {
        lengthUnlessFramed(0); // (the answer to a HEAD says the length a GET would get, or nothing)
      }
      head();
    }
    LastHttpContent last = trailers != null && !trailers.isEmpty() && !bodyless()
        ? new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, trailers) : LastHttpContent.EMPTY_LAST_CONTENT;
    complete(last);
  }

  /** The answer was a 101 written by the tunnel: nothing more is written here. */
  void tunnel() {
    stage = Stage.ENDED;
    status = 101;
  }

  @Override
  public void cut() {
    stage = Stage.CUT;
    ClientConnections.cut(channel);
  }

  private void complete(LastHttpContent last) {
    stage = Stage.ENDED;
    ChannelFuture done = channel.writeAndFlush(last);
    flushQueued = false;
    side.responseEnded(!keepAlive);
    if (!keepAlive) {
      done.addListener(f -> Http2Clients.closeAnswered(channel));
    }
  }

  /**
   * A response ending with its head states its length, unless a framing header was set already,
   * or it is a 1xx, 204 or 304: those have no content, and a 304's length would be the
   * representation's, which only the backend knows (attack D1-6: a 304 got Content-Length: 0).
   */
  private void lengthUnlessFramed(long length) {
    if (status < 200 || status == 204 || status == 304) {
      return;
    }
    if (!headers().contains("Content-Length") && !headers().contains("Transfer-Encoding")) {
      headers.set("Content-Length", length);
    }
  }

  /** No body goes on the wire: the answer to a HEAD, 1xx, 204 and 304. */
  private boolean bodyless() {
    return side.method() == HttpMethod.HEAD || status < 200 || status == 204 || status == 304;
  }

  /** Writes the head (not flushed yet), its framing and the connection's fate decided. */
  private void head() {
    HttpVersion version = side.version();
    HttpHeaders h = headers();
    if (status < 200 || status == 204) {
      // RFC 9110 sections 8.6 and 6.4.1: no length or coding on these; a backend's would make
      // HTTP/2 clients refuse the stream (attack s14-5).
      h.remove("Content-Length");
      h.remove("Transfer-Encoding");
    }
    boolean framed = bodyless() || h.contains("Content-Length");
    if (!framed && h.contains("Transfer-Encoding")) {
      framed = version == HttpVersion.HTTP_1_1;
    }
    if (!framed && version == HttpVersion.HTTP_1_1) {
      h.set("Transfer-Encoding", "chunked");
      framed = true;
    }
    keepAlive = framed && !closeAfter && side.connection().keepsAlive()
        && HttpUtil.isKeepAlive(side.request());
    if (!keepAlive) {
      h.set("Connection", "close");
      ClientConnections.lingerOnClose(channel);
    } else if (version == HttpVersion.HTTP_1_0) {
      h.set("Connection", "keep-alive");
    }
    DefaultHttpResponse head = new DefaultHttpResponse(version, HttpResponseStatus.valueOf(status), h);
    if (encoder != null) { // (HTTP/2: the stream's codec knows a HEAD's answer has no body)
      encoder.headRequest = side.method() == HttpMethod.HEAD;
    }
    stage = Stage.HEAD_WRITTEN;
    channel.write(head, channel.voidPromise());
  }

  private void flushNow() {
    flushQueued = false;
    channel.flush();
  }
}
