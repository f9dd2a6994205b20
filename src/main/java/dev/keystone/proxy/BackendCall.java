package dev.keystone.proxy;

import dev.keystone.model.Backend;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.nio.channels.ClosedChannelException;

/**
 * One attempt to get a response from one backend on one {@link BackendConnection} (Netty): the
 * request head, the body (none, held whole for a script, or streamed with backpressure), the
 * wait for the response head ({@code response_header}, checked by the loop's sweep), then the
 * {@link BackendRelay}. Passive health hears how the backend did; the {@link RetryRule} decides
 * whether a failure may be sent again. The connection goes back to its pool only after a clean
 * exchange: the whole request written and the whole response read.
 */
final class BackendCall implements BackendConnection.Listener {

  /** How long a request that met no network buffers waits to be sent again: past the next sweep (250 ms). */
  static final long BUFFERS_RETRY_MS = 300;

  /** 103 answers relayed per request, at most: a backend sending them without end gets no more. */
  static final int MAX_INTERIM_ANSWERS = 4;

  private enum State { SENDING, AWAITING_HEAD, RELAYING, OVER }

  private final Exchange ex;
  private final Backend backend;
  private final BackendConnection conn;
  private final BackendPool pool;
  private final NettyForwarder forwarder;
  private final long receivedBefore;
  private State state = State.SENDING;
  /** The whole request is on the wire. */
  private boolean written;
  /** The body is streaming from the client (started, not yet ended or failed). */
  private boolean pumping;
  private long bodySeen;
  private int interim;
  private boolean interimSeen;
  /** The head of a streamed request, held until the first body bytes (null once written). */
  private HttpRequest pendingHead;
  /** A resend on a fresh connection: that connection is closed after it, not pooled. */
  private final boolean retry;
  private BackendRelay relay;
  /** The connection failed for the gateway's own reason (no network buffers): no passive failure. */
  private boolean gatewayFault;
  /** A WebSocket handshake from a client on Netty: a 101 joins the connections (WebSocketSplice). */
  private final boolean upgrade;

  BackendCall(Exchange ex, Backend backend, BackendConnection conn, BackendPool pool, NettyForwarder forwarder,
              boolean retry) {
    this.ex = ex;
    this.retry = retry;
    this.backend = backend;
    this.conn = conn;
    this.pool = pool;
    this.forwarder = forwarder;
    this.receivedBefore = conn.received();
    this.upgrade = NettyForwarder.splices(ex);
  }

  void start() {
    conn.lend(this, ex.head().method() == io.netty.handler.codec.http.HttpMethod.HEAD);
    ex.abortUpstream = this::abort;
    RequestHead head = ex.head();
    String uri = backend.target(ex.forwardPath(), ex.forwardQuery != null ? ex.forwardQuery : head.query());
    HttpHeaders headers = RequestHeads.forBackend(ex, backend);
    if (upgrade) {
      // Upgrade and Connection are hop-by-hop, but for an upgrade they are the point.
      headers.set("Connection", "Upgrade").set("Upgrade", head.headers().get("Upgrade"));
    }
    boolean http10 = head.version() == HttpVersion.HTTP_1_0;
    if (ex.bufferedBody != null) {
      headers.remove("Expect"); // already answered with 100 Continue
      headers.set("Content-Length", ex.bufferedBody.length);
      send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, head.method(), uri, Unpooled.wrappedBuffer(ex.bufferedBody),
          headers, new DefaultHttpHeaders(false)), true);
    } else if (!ClientBody.declared(ex)) {
      send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, head.method(), uri, Unpooled.EMPTY_BUFFER,
          headers, new DefaultHttpHeaders(false)), true);
    } else {
      if (head.headers().contains("Transfer-Encoding")) {
        headers.set("Transfer-Encoding", "chunked"); // the only coding a request may have here
      }
      if (http10) {
        headers.remove("Expect"); // RFC 9110 section 10.1.1: ignored in an HTTP/1.0 request
      }
      HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, head.method(), uri, headers);
      if (!http10 && head.headers().contains("Expect")) {
        send(request, false); // the client waits for 100 Continue, which the backend sends on seeing the head
      } else {
        // Goes out with the first body bytes: a body that breaks before any arrives (a bad
        // first chunk) leaves the backend without even a head.
        pendingHead = request;
      }
      pump();
    }
  }

  private void send(HttpRequest request, boolean whole) {
    conn.channel.writeAndFlush(request).addListener((ChannelFutureListener) f -> ex.guarded(() -> {
      if (!f.isSuccess()) {
        upstreamWriteFailed(f.cause());
      } else if (whole) {
        sent();
      }
    }).run());
  }

  /** Streams the client's body, pausing the client while the backend does not take it. */
  private void pump() {
    pumping = true;
    ex.phase(Exchange.Phase.SENDING);
    long max = ex.head().headers().contains("Transfer-Encoding") ? ex.snapshot().plan().limits().maxBodySize() : 0;
    // Chunks are lent (BodySource): one forwarded is retained for its write, which releases it.
    ex.body().read(chunk -> ex.guarded(() -> {
      if (!pumping) {
        return;
      }
      bodySeen += chunk.readableBytes();
      if (max > 0 && bodySeen > max) {
        clientFailed(new ClientBody.TooLarge(max));
        return;
      }
      ex.progress();
      writePendingHead();
      conn.channel.writeAndFlush(new DefaultHttpContent(chunk.retain())).addListener(this::bodyWritten);
      // Checked after the flush: one that empties the buffer at once has made it writable again
      // (and told onWritable while nothing was paused).
      if (!conn.channel.isWritable()) {
        ex.body().pause();
        ex.backendBlocked = true;
      }
    }).run(), ex.guarded(() -> {
      if (pumping) {
        writePendingHead();
        conn.channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener((ChannelFutureListener) f -> ex.guarded(() -> {
          if (!f.isSuccess()) {
            upstreamWriteFailed(f.cause());
          } else if (pumping) {
            pumping = false;
            sent();
          }
        }).run());
      }
    }), t -> ex.guarded(() -> clientFailed(t)).run());
    conn.channel.flush();
  }

  private void writePendingHead() {
    if (pendingHead != null) {
      conn.channel.write(pendingHead).addListener(this::bodyWritten);
      pendingHead = null;
    }
  }

  private void bodyWritten(io.netty.util.concurrent.Future<? super Void> f) {
    if (!f.isSuccess()) {
      ex.guarded(() -> upstreamWriteFailed(f.cause())).run();
    }
  }

  @Override
  public void onWritable() {
    ex.guarded(() -> {
      if (pumping && ex.backendBlocked) {
        ex.backendBlocked = false;
        ex.progress();
        ex.body().resume();
      }
    }).run();
  }

  @Override
  public void onReadComplete() {
    if (relay != null) {
      relay.readComplete();
    }
  }

  /** The whole request went out: the wait for the head begins (swept against response_header). */
  private void sent() {
    written = true;
    if (state == State.SENDING) {
      state = State.AWAITING_HEAD;
      ex.phase(Exchange.Phase.AWAITING_HEAD);
      ex.headDeadline = System.nanoTime() + ex.snapshot().plan().timeouts().responseHeader().toNanos();
      ex.onHeadTimeout = this::headTimedOut;
    }
  }

  /** The client's body broke off: the backend must never see a complete request. */
  private void clientFailed(Throwable cause) {
    ex.clientFault = true; // a response already streaming is cut by this, not by the backend (R6-3)
    stopPump();
    end(false);
    if (cause instanceof ClientBody.TooLarge) {
      ex.fail(ProxyError.BODY_TOO_LARGE, cause.getMessage());
    } else if (!ex.response().closed() && !Failures.clientGone(cause)) {
      ex.fail(ProxyError.BAD_REQUEST, "request body: " + Failures.describe(cause));
    }
  }

  /**
   * The backend stopped taking the request: its answer (if it comes before the close) decides. A
   * failure of the gateway's own (no buffer for the encoder) closes nothing by itself: the call
   * waited for the 61 s backstop. Its connection is closed with it, and closed() decides.
   */
  private void upstreamWriteFailed(Throwable cause) {
    stopPump();
    if (relay != null) {
      relay.closeClientAfter();
    } else if (!(cause instanceof java.io.IOException)) {
      conn.closeFailed(cause);
    }
  }

  @Override
  public void onResponse(HttpObject msg) {
    ex.guarded(() -> response(msg)).run();
  }

  private void response(HttpObject msg) {
    if (state == State.OVER) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg.decoderResult().isFailure()) {
      Throwable cause = msg.decoderResult().cause();
      ReferenceCountUtil.release(msg);
      broken("backend " + backend.name() + " sent an invalid response: " + Failures.describe(cause));
      return;
    }
    if (relay != null) {
      relay.part(msg);
      return;
    }
    if (!(msg instanceof HttpResponse r)) {
      boolean endOfInterim = interimSeen && msg instanceof LastHttpContent l && !l.content().isReadable();
      ReferenceCountUtil.release(msg); // no head yet: nothing to relay this to
      if (endOfInterim) {
        return; // the decoder ends each interim head with an empty last part
      }
      broken("backend " + backend.name() + " sent content before a response head");
      return;
    }
    int status = r.status().code();
    if (status == 100 || (status > 101 && status < 200)) {
      interimAnswer(r);
      return;
    }
    ex.onHeadTimeout = null;
    ex.upstreamNanos = System.nanoTime() - ex.upstreamStart;
    if (status == 101 && upgrade) {
      switchProtocols(r);
      return;
    }
    String refused = BackendRelay.refusal(r, backend);
    if (refused != null) {
      ReferenceCountUtil.release(msg);
      stopPump();
      end(false);
      backend.health().passiveFailure(refused, ex.snapshot().plan().passiveHealth(), false);
      ex.fail(ProxyError.UPSTREAM_FAILED, refused);
      return;
    }
    if (status >= 500) {
      backend.health().passiveFailure("answered " + status, ex.snapshot().plan().passiveHealth(), false);
      ex.backendBlamed = true;
    }
    // A success only once the whole response came (relayed): R5-4.
    state = State.RELAYING;
    // An answer before the whole request body arrived: the rest of it is the client's to send,
    // not the next request's, so the client's connection closes after the response.
    relay = new BackendRelay(ex, conn, r, pumping || !written, this::relayed);
    relay.start();
  }

  /** The backend accepted the upgrade: the connection leaves the pool and becomes a tunnel. */
  private void switchProtocols(HttpResponse r) {
    String refused = WebSocketSplice.refusal(r, backend);
    if (refused != null) {
      ReferenceCountUtil.release(r);
      end(false);
      backend.health().passiveFailure(refused, ex.snapshot().plan().passiveHealth(), false);
      ex.fail(ProxyError.UPSTREAM_FAILED, refused);
      return;
    }
    backend.health().passiveSuccess();
    state = State.OVER;
    conn.takeBack();
    pool.detach(conn);
    WebSocketSplice.splice(ex, conn, r);
  }

  private void interimAnswer(HttpResponse r) {
    interimSeen = true;
    ReferenceCountUtil.release(r);
    ResponseSink sink = ex.response();
    if (sink.headWritten() || ex.head().version() == HttpVersion.HTTP_1_0) {
      return; // interim answers are HTTP/1.1's: a 1.0 client would take one for the final answer
    }
    if (r.status().code() == 100) {
      if (ex.head().headers().contains("Expect")) {
        sink.writeContinue(); // the backend is ready for the body the client holds back
      }
    } else if (r.status().code() == 103 && interim++ < MAX_INTERIM_ANSWERS) {
      HttpHeaders hints = new DefaultHttpHeaders(false);
      HopByHop.copy(r.headers(), hints::add, null);
      hints.set("Via", ForwardedHeaders.via(HttpVersion.HTTP_1_1));
      sink.writeInterim(hints);
    }
  }

  /** The relay is over: the connection goes back to the pool only after a clean exchange. */
  private void relayed(BackendRelay.End how) {
    if (how == BackendRelay.End.UPSTREAM_BROKE && !ex.clientFault && !gatewayFault && !ex.backendBlamed) {
      backend.health().passiveFailure(ex.errorDetail, ex.snapshot().plan().passiveHealth(), false);
      ex.backendBlamed = true;
    } else if (how == BackendRelay.End.COMPLETE && !ex.backendBlamed) {
      backend.health().passiveSuccess();
    }
    if (how == BackendRelay.End.COMPLETE && (pumping || !written)) {
      // Answered before it took the whole body: the connection still owes the rest of it (R3-2).
      stopPump();
      end(false);
      return;
    }
    end(how == BackendRelay.End.COMPLETE && relay.reusable());
  }

  /** The attempt is over; the connection is pooled again ({@code clean}) or closed. */
  private void end(boolean clean) {
    if (state == State.OVER) {
      return;
    }
    state = State.OVER;
    ex.onHeadTimeout = null;
    ex.abortUpstream = null;
    // A connection opened for a resend is not pooled: its backend just closed a reused one.
    // Nor one that carried an upgrade the backend refused: it may have switched state anyway.
    pool.release(conn, clean && written && !pumping && !retry && !upgrade);
  }

  private void stopPump() {
    if (pumping) {
      pumping = false;
      ex.backendBlocked = false;
      ex.body().pause();
    }
  }

  /** The client left or the request stalled: the backend exchange must not complete. */
  private void abort() {
    stopPump();
    if (relay != null) {
      relay.stop();
    }
    end(false);
  }

  private void headTimedOut() {
    if (state != State.AWAITING_HEAD) {
      return;
    }
    end(false);
    String why = "backend " + backend.name() + ": no response head within response_header";
    backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
    ex.fail(ProxyError.UPSTREAM_TIMEOUT, why);
  }

  /** The response could not be read: before anything was relayed that is a 502, else a cut. */
  private void broken(String why) {
    if (relay != null) {
      relay.broke(why);
      return;
    }
    stopPump();
    end(false);
    backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
    ex.fail(ProxyError.UPSTREAM_FAILED, why);
  }

  @Override
  public void onClosed(Throwable cause) {
    ex.guarded(() -> closed(cause)).run();
  }

  private void closed(Throwable cause) {
    if (state == State.OVER) {
      return;
    }
    if (relay != null) {
      // Out of network buffers (clients not reading) is not the backend's failure.
      gatewayFault = cause instanceof OutOfMemoryError;
      relay.broke("backend " + backend.name() + " closed the connection mid-response"
          + (cause == null ? "" : " (" + Failures.describe(cause) + ")"));
      return;
    }
    stopPump();
    state = State.OVER;
    ex.onHeadTimeout = null;
    ex.abortUpstream = null;
    Throwable c = cause == null || cause instanceof io.netty.handler.codec.PrematureChannelClosureException
        ? new ClosedChannelException() : cause;
    boolean answerBegun = conn.received() > receivedBefore;
    if (!answerBegun && RetryRule.againOnFreshConnection(ex, conn.reused(), c)) {
      forwarder.again(ex, backend);
      return;
    }
    if (cause instanceof OutOfMemoryError) {
      // The gateway ran out of network buffers for it: not the backend's failure, nor a bad
      // gateway. The sweeps cut the clients that hold them (not reading): a request that can be
      // sent again is, once, after the next sweep (MemoryUnderAbuseTest saw a well-behaved
      // client's GET fail so, then a 502, now and then in CI).
      if (!answerBegun && ex.retries == 0 && RetryRule.replayable(ex)) {
        forwarder.againAfter(ex, backend, BUFFERS_RETRY_MS);
        return;
      }
      ex.fail(ProxyError.NO_BUFFERS, "no network buffers for backend " + backend.name() + ": " + cause);
      return;
    }
    String why = "backend " + backend.name() + ": connection closed before a response"
        + (cause == null ? "" : " (" + Failures.describe(cause) + ")");
    backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
    ex.fail(ProxyError.UPSTREAM_FAILED, why);
  }

}
