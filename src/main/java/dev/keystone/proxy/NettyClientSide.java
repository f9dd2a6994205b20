package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.logging.Level;

/**
 * The transport seam ({@link ClientSide}) over one request of a {@link ClientConnection}, Netty's
 * HTTP/1.1 server side. The body starts paused: its chunks wait here, and the connection reads
 * no further, until a step reads it. What arrives while it is paused (the rest of one socket read)
 * waits here too, so what a paused body holds is bounded by one read.
 */
final class NettyClientSide implements ClientSide, RequestHead, BodySource {

  private final ClientConnection connection;
  private final Channel channel;
  private final HttpRequest request;
  private final NettyResponseSink sink;
  private String path;
  private String query;

  // The body, as a small state machine: see state().
  private Consumer<ByteBuf> chunkHandler;
  private Runnable endHandler;
  private Consumer<Throwable> errorHandler;
  private Consumer<Throwable> unreadFailure;
  private boolean paused = true;
  private boolean delivered; // the end went to the reader
  private Throwable failure;
  /** The last chunk arrived (it may still wait here): what the connection reads next is another request. */
  private boolean lastReceived;
  private final ArrayDeque<HttpContent> waiting = new ArrayDeque<>(2);
  /** The declared length, read once (Long.MIN_VALUE: not yet); the decoder made sure it is valid. */
  private long declared = Long.MIN_VALUE;

  private List<Runnable> closeListeners;
  private List<Runnable> endListeners;

  NettyClientSide(ClientConnection connection, Channel channel, HttpRequest request, ResponseEncoder encoder) {
    this.connection = connection;
    this.channel = channel;
    this.request = request;
    this.sink = new NettyResponseSink(this, channel, encoder);
  }

  HttpRequest request() {
    return request;
  }

  ClientConnection connection() {
    return connection;
  }

  Channel channel() {
    return channel;
  }

  // ClientSide

  @Override
  public RequestHead head() {
    return this;
  }

  @Override
  public BodySource body() {
    return this;
  }

  @Override
  public ResponseSink response() {
    return sink;
  }

  @Override
  public void onResponseEnd(Runnable listener) {
    if (endListeners == null) {
      endListeners = new ArrayList<>(2);
    }
    endListeners.add(listener);
  }

  @Override
  public void onClose(Runnable listener) {
    if (closeListeners == null) {
      closeListeners = new ArrayList<>(2);
    }
    closeListeners.add(listener);
  }

  @Override
  public void runOnLoop(Runnable task) {
    channel.eventLoop().execute(task);
  }

  @Override
  public void runLater(Runnable task, long delayMillis) {
    channel.eventLoop().schedule(task, delayMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  @Override
  public void closeNow() {
    ClientConnections.forceClose(channel);
  }

  /** The response has ended: its listeners run, then the connection goes on (or closes). */
  void responseEnded(boolean close) {
    run(endListeners);
    endListeners = null;
    connection.responseEnded(this, close);
  }

  /**
   * The connection became a WebSocket tunnel ({@link WebSocketSplice}): no HTTP on it from now on.
   * Returns the bytes the client sent behind its handshake.
   */
  java.util.List<io.netty.buffer.ByteBuf> becameTunnel() {
    sink.tunnel();
    releaseWaiting();
    return connection.tunnel(this);
  }

  /** The connection closed. */
  void channelClosed() {
    if (!sink.ended()) {
      run(closeListeners);
    }
    closeListeners = null;
    if (!lastReceived && failure == null) {
      fail(new java.nio.channels.ClosedChannelException());
    }
    releaseWaiting();
  }

  private static void run(List<Runnable> listeners) {
    if (listeners == null) {
      return;
    }
    for (Runnable r : listeners) {
      try {
        r.run();
      } catch (RuntimeException e) {
        Exchange.LOG.log(Level.SEVERE, "a response listener failed", e);
      }
    }
  }

  // RequestHead

  @Override
  public HttpMethod method() {
    return request.method();
  }

  @Override
  public String uri() {
    return request.uri();
  }

  @Override
  public String path() {
    if (path == null) {
      path = RequestTarget.path(request.uri());
    }
    return path;
  }

  @Override
  public String query() {
    if (query == null) {
      int q = request.uri().indexOf('?');
      query = q < 0 ? null : request.uri().substring(q + 1);
    }
    return query;
  }

  @Override
  public HttpVersion version() {
    return request.protocolVersion();
  }

  @Override
  public HttpHeaders headers() {
    return request.headers();
  }

  @Override
  public boolean secure() {
    return connection.secure;
  }

  @Override
  public String clientAddress() {
    return connection.clientAddress();
  }

  @Override
  public boolean http2() {
    return Http2Clients.isStream(channel);
  }

  @Override
  public String tlsServerName() {
    return connection.serverName();
  }

  @Override
  public String tlsClientAuth() {
    return connection.clientAuth();
  }

  @Override
  public java.security.cert.X509Certificate clientCertificate() {
    return connection.clientCertificate();
  }

  @Override
  public Throwable decodeFailure() {
    return request.decoderResult().isSuccess() ? null : request.decoderResult().cause();
  }

  // BodySource

  @Override
  public State state() {
    if (declaredLength() == 0) {
      return State.NONE;
    }
    if (failure != null) {
      return State.FAILED;
    }
    if (delivered) {
      return State.CONSUMED;
    }
    return chunkHandler != null ? State.STREAMING : State.UNREAD;
  }

  @Override
  public long declaredLength() {
    if (declared == Long.MIN_VALUE) {
      declared = ClientBody.declaredLength(request.headers());
    }
    return declared;
  }

  @Override
  public void read(Consumer<ByteBuf> chunk, Runnable end, Consumer<Throwable> error) {
    chunkHandler = chunk;
    endHandler = end;
    errorHandler = error;
    resume();
  }

  @Override
  public void drop() {
    read(NettyClientSide::discard, () -> { }, t -> { });
  }

  private static void discard(ByteBuf b) {
  }

  @Override
  public void pause() {
    paused = true;
    connection.updateReads();
  }

  @Override
  public void resume() {
    if (chunkHandler == null) {
      return; // nobody reads yet: it stays paused
    }
    paused = false;
    HttpContent c;
    while (!paused && (c = waiting.poll()) != null) {
      deliver(c);
    }
    connection.updateReads();
  }

  @Override
  public void onUnreadFailure(Consumer<Throwable> handler) {
    unreadFailure = handler;
  }

  /** Whether the connection should read for this body now (someone takes its chunks). */
  boolean flowing() {
    return !lastReceived && !paused && chunkHandler != null;
  }

  boolean lastReceived() {
    return lastReceived;
  }

  /** Drops what waits (the answer ended; nobody will read it). */
  void discardWaiting() {
    releaseWaiting();
  }

  /** A chunk of this request's body from the decoder; this side owns it. */
  void content(HttpContent c) {
    if (c.decoderResult().isFailure()) {
      c.release();
      lastReceived = true;
      fail(c.decoderResult().cause());
      return;
    }
    if (c instanceof LastHttpContent) {
      lastReceived = true;
    }
    if (paused || !waiting.isEmpty()) {
      waiting.add(c);
      connection.updateReads();
      return;
    }
    deliver(c);
  }

  private void deliver(HttpContent c) {
    try {
      ByteBuf b = c.content();
      if (b.isReadable()) {
        chunkHandler.accept(b);
      }
    } finally {
      c.release();
    }
    if (c instanceof LastHttpContent && !delivered) {
      delivered = true;
      Runnable end = endHandler;
      chunkHandler = NettyClientSide::discard;
      endHandler = null;
      end.run();
      connection.bodyDone(this);
    }
  }

  private void fail(Throwable t) {
    if (failure != null || delivered) {
      return;
    }
    failure = t;
    releaseWaiting();
    if (sink.ended()) {
      closeNow(); // the rest of an answered request broke: the framing after it cannot be trusted
      return;
    }
    Consumer<Throwable> h = errorHandler != null ? errorHandler : unreadFailure;
    if (h != null) { // (one dropping the body has a handler that does nothing)
      h.accept(t);
    }
  }

  /**
   * The answer ended before the body was read whole: the next request starts after it, so the
   * rest is read and dropped when it is small (at most {@link ClientBody#DRAIN_LIMIT}), else the
   * connection must close. Returns false for close.
   */
  boolean dropRest() {
    if (failure != null) {
      return false;
    }
    long length = declaredLength();
    if (length < 0 || length > ClientBody.DRAIN_LIMIT) {
      return false;
    }
    chunkHandler = NettyClientSide::discard;
    endHandler = () -> { };
    errorHandler = t -> { };
    resume();
    return true;
  }

  private void releaseWaiting() {
    HttpContent c;
    while ((c = waiting.poll()) != null) {
      c.release();
    }
  }
}
