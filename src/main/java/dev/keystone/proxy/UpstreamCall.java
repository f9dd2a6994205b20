package dev.keystone.proxy;

import dev.keystone.model.Timeouts;
import dev.keystone.model.Backend;
import io.vertx.core.AsyncResult;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/**
 * One attempt to get a response from one backend on one connection: the request head, the body
 * (none, held whole for a script, or streamed by a {@link BodyPump}), the wait for the response
 * head ({@code response_header}), then the {@link ResponseRelay}. It reports to passive health
 * how the backend did, and asks the {@link RetryRule} whether a failure may be sent again.
 */
final class UpstreamCall implements BodyPump.Listener {

  /**
   * Interim answers (103 Early Hints) relayed per request; more are dropped. They are hints:
   * a backend sending thousands would make the gateway a flood's amplifier.
   */
  static final int MAX_INTERIM_ANSWERS = 4;

  private final Exchange ex;
  private final HttpClientRequest up;
  private final Backend backend;
  private final boolean reused;
  private final Forwarder forwarder;
  private BodyPump pump;
  private ResponseRelay relay;
  /** The backend stopped taking the request body (it closed, or answered and closed). */
  private boolean upstreamWriteFailed;
  private boolean responded;
  /** The head went out on its own (Expect); otherwise Vert.x holds it until the first body bytes. */
  private boolean headSent;
  private boolean over;
  /** The connection's received bytes when this request went out (-1: not counted). */
  private final ReadBytes received;
  private final long receivedBefore;

  UpstreamCall(Exchange ex, HttpClientRequest up, Backend backend, boolean reused, Forwarder forwarder) {
    this.ex = ex;
    this.up = up;
    this.backend = backend;
    this.reused = reused;
    this.forwarder = forwarder;
    this.received = ReadBytes.of(up.connection());
    this.receivedBefore = received == null ? -1 : received.total();
  }

  void start() {
    HttpServerRequest req = VertxClientSide.request(ex);
    HttpServerResponse resp = req.response();
    copyRequestHead(ex, up);
    up.exceptionHandler(Failures::handledElsewhere);
    boolean http10 = req.version() == io.vertx.core.http.HttpVersion.HTTP_1_0;
    int[] interim = {0};
    up.earlyHintsHandler(ex.guard(hints -> {
      // Interim answers are HTTP/1.1's: an HTTP/1.0 client would take one for the final answer.
      if (!resp.headWritten() && !http10 && interim[0]++ < MAX_INTERIM_ANSWERS) {
        MultiMap filtered = io.vertx.core.http.HttpHeaders.headers();
        HopByHop.copy(hints, filtered, null);
        filtered.set("Via", ForwardedHeaders.via(io.vertx.core.http.HttpVersion.HTTP_1_1));
        resp.writeEarlyHints(filtered);
      }
    }));
    ex.abortUpstream = this::abort;
    up.response().onComplete(ex.guard(this::responded));
    Buffer buffered = ex.bufferedBody == null ? null : Buffer.buffer(ex.bufferedBody); // read whole for a script: sent with a Content-Length
    if (buffered != null) {
      up.headers().remove("Expect"); // already answered with 100 Continue
      up.headers().remove("Transfer-Encoding");
      up.headers().set("Content-Length", Integer.toString(buffered.length()));
      up.end(buffered).onComplete(ex.guard(this::written));
    } else if (!ClientBody.declared(ex)) {
      up.end().onComplete(ex.guard(this::written)); // no body: nothing to pipe, nothing to consume
    } else {
      if (req.headers().contains("Transfer-Encoding")) {
        up.setChunked(true);
      }
      if (http10) {
        up.headers().remove("Expect"); // RFC 9110 section 10.1.1: ignored in an HTTP/1.0 request
      } else if (req.headers().contains("Expect")) {
        // The client waits for 100 Continue before it sends its body, so the head must go out
        // now (Vert.x would otherwise hold it until the first body bytes).
        up.continueHandler(ex.guard(v -> {
          if (!resp.headWritten()) {
            resp.writeContinue();
          }
        }));
        up.sendHead();
        headSent = true;
      }
      long max = ex.snapshot().plan().limits().maxBodySize();
      pump = new BodyPump(ex, up, req.headers().contains("Transfer-Encoding") ? max : 0, this);
      pump.start();
    }
  }

  /**
   * Ends the backend's side early (the client left, the request stalled, an error answer): what
   * the reset does to the response future is the gateway's doing, not the backend's failure.
   */
  private void abort() {
    over = true;
    if (pump != null) {
      pump.stop();
    }
    up.reset();
  }

  private void written(AsyncResult<Void> ar) {
    if (ar.failed()) {
      upstreamFailed(ar.cause());
    } else {
      sent();
    }
  }

  @Override
  public void sent() {
    if (!responded && !over) {
      ex.phase(Exchange.Phase.AWAITING_HEAD);
      // Not armed after an early response: a late timer would reset a connection that is back
      // in the pool. Vert.x cancels it when the response head arrives.
      up.idleTimeout(timeouts().responseHeader().toMillis());
    }
  }

  @Override
  public void clientFailed(Throwable cause) {
    // The client's body broke off: reset the backend's request so it never sees a complete one
    // (what the reset does to the response future is not the backend's failure), then answer.
    over = true;
    ex.clientFault = true; // what the reset does to a response already streaming is not the backend's failure (R6-3)
    up.reset();
    if (cause instanceof BodyPump.TooLarge) {
      ex.fail(ProxyError.BODY_TOO_LARGE, cause.getMessage());
    } else if (!VertxClientSide.request(ex).response().closed() && !Failures.clientGone(cause)) {
      ex.fail(ProxyError.BAD_REQUEST, "request body: " + Failures.describe(cause));
    }
  }

  @Override
  public void upstreamFailed(Throwable cause) {
    // Not the client's fault. The backend may still have answered (413 and close): the response
    // future decides; the client's connection closes after the answer, its body unread.
    upstreamWriteFailed = true;
    if (relay != null) {
      relay.closeAfter();
    }
  }

  private void responded(AsyncResult<HttpClientResponse> ar) {
    responded = true;
    if (over || ex.completed) {
      return;
    }
    if (ar.failed()) {
      failed(ar.cause());
      return;
    }
    HttpClientResponse r = ar.result();
    ex.upstreamNanos = System.nanoTime() - ex.upstreamStart;
    r.exceptionHandler(Failures::handledElsewhere); // a reset below is the gateway's doing, not to be logged (R4-2)
    if (r.statusCode() < 200 || r.statusCode() > 599) {
      // 100 and 103 never get here (relayed as interim answers). A 101 to a request that asked
      // for no upgrade, or another 1xx, is not a final answer: passing it on would desync the
      // client's connection. A status beyond 599 is no HTTP status at all.
      over = true;
      if (pump != null) {
        pump.stop();
      }
      up.reset();
      String why = "backend " + backend.name() + " answered " + r.statusCode() + " as a final response";
      backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
      ex.fail(ProxyError.UPSTREAM_FAILED, why);
      return;
    }
    String coding = unrelayableCoding(r);
    if (coding != null) {
      // RFC 9112 section 6.1: chunked must be the final coding, and a coding the gateway would
      // drop (gzip) leaves the client with bytes it can't read. Refused, as nginx does.
      over = true;
      if (pump != null) {
        pump.stop();
      }
      dropConnection();
      String why = "backend " + backend.name() + " answered with " + coding;
      backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
      ex.fail(ProxyError.UPSTREAM_FAILED, why);
      return;
    }
    if (r.statusCode() >= 500) {
      backend.health().passiveFailure("answered " + r.statusCode(), ex.snapshot().plan().passiveHealth(), false);
      ex.backendBlamed = true;
    }
    // A success only once the whole response came (relayed): a backend that breaks every
    // response mid-body must not have each head reset its run of failures (R5-4).
    // An answer before the whole request body arrived (413, or a streaming service): the rest of
    // the body is the client's to send, not the next request's, so the connection closes after.
    boolean bodyStillComing = pump != null && !pump.over();
    relay = new ResponseRelay(ex, r, upstreamWriteFailed || bodyStillComing, this::relayed);
    relay.start();
  }

  /**
   * What makes the response's framing unrelayable, or null: a Transfer-Encoding other than
   * exactly {@code chunked}, or a Connection header naming a framing header (R4-5).
   */
  private static String unrelayableCoding(HttpClientResponse r) {
    String named = BackendRelay.framingNamedInConnection(r.headers().getAll("Connection"));
    if (named != null) {
      return "a Connection header naming " + named;
    }
    java.util.List<String> codings = r.headers().getAll("Transfer-Encoding");
    if (codings.isEmpty() || (codings.size() == 1 && codings.get(0).trim().equalsIgnoreCase("chunked"))) {
      return null;
    }
    return "Transfer-Encoding: " + RequestSyntax.printable(String.join(", ", codings));
  }

  private void failed(Throwable cause) {
    over = true;
    if (pump != null) {
      pump.stop();
    }
    boolean timeout = Failures.isTimeout(cause);
    boolean answerBegun = received == null || received.total() > receivedBefore;
    if (pump != null && pump.seen() == 0 && !headSent && !answerBegun && ex.retries == 0) {
      // Nothing of the request left (Vert.x holds the head until the first body bytes) when the
      // connection closed, likely its own idle timer counted from its previous request: no
      // failure of the backend's. A request never written goes again, on a fresh connection;
      // a body that never comes is then the client's stall (408, attack round 4, R4-1).
      forwarder.again(ex, backend);
      return;
    }
    if (!answerBegun && RetryRule.againOnFreshConnection(ex, reused, cause)) {
      forwarder.again(ex, backend);
      return;
    }
    String why = "backend " + backend.name() + ": " + (timeout ? "no response head within response_header: " : "")
        + Failures.describe(cause);
    backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
    ex.fail(timeout ? ProxyError.UPSTREAM_TIMEOUT : ProxyError.UPSTREAM_FAILED, why);
  }

  private void relayed(ResponseRelay.End how) {
    over = true;
    if (how == ResponseRelay.End.UPSTREAM_BROKE && !ex.clientFault && !ex.backendBlamed) {
      backend.health().passiveFailure(ex.errorDetail, ex.snapshot().plan().passiveHealth(), false);
      ex.backendBlamed = true;
    } else if (how == ResponseRelay.End.COMPLETE && !ex.backendBlamed) {
      backend.health().passiveSuccess();
    }
    if (pump != null && !pump.over()) {
      // The backend answered before it took the whole body: the connection still owes the rest
      // of it, so whatever is written next would be read as that body, and what follows as a
      // request of the client's making (attack round 3, R3-2). Drop it (the relay closes the
      // client's connection, whose body is still coming).
      pump.stop();
      dropConnection();
    } else if (how != ResponseRelay.End.COMPLETE) {
      up.reset();
    }
  }

  /**
   * Resets the request and closes its connection. A reset alone is not enough once the response
   * has ended: Vert.x then takes the request for one never written and keeps the connection,
   * although its head (and part of its body) went out.
   */
  private void dropConnection() {
    up.reset();
    up.connection().close();
  }

  private Timeouts timeouts() {
    return ex.snapshot().plan().timeouts();
  }

  /** Copies the request head (without hop-by-hop headers) and adds the forwarding headers. */
  static void copyRequestHead(Exchange ex, HttpClientRequest upstream) {
    HttpServerRequest req = VertxClientSide.request(ex);
    MultiMap headers = upstream.headers();
    HopByHop.copy(req.headers(), headers, "host");
    ForwardedHeaders.apply(req, ex.hostHeader(), headers);
    headers.set("X-Request-ID", ex.requestId());
    String clientHost = ex.hostHeader();
    boolean preserve = ex.tenant().preserveHost() && clientHost != null && !clientHost.isEmpty();
    headers.set("Host", preserve ? clientHost : ex.backend().authority());
    if (ex.head().method() == io.netty.handler.codec.http.HttpMethod.HEAD) {
      // A backend that sends a body after a HEAD response's head (a common bug) would have it
      // read as the next request's response: a HEAD's connection is not reused (R3-5).
      headers.set("Connection", "close");
    }
    if (ex.headerEdits != null) {
      applyEdits(ex.headerEdits, headers);
    }
  }

  /** A script's header edits: a value replaces the header, null removes it. */
  static void applyEdits(java.util.Map<String, String> edits, MultiMap headers) {
    edits.forEach((name, value) -> {
      if (value == null) {
        headers.remove(name);
      } else {
        headers.set(name, value);
      }
    });
  }
}
