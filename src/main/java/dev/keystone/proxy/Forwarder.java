package dev.keystone.proxy;

import dev.keystone.config.Timeouts;
import dev.keystone.script.ResponseEdits;
import dev.keystone.upstream.Backend;
import dev.keystone.upstream.Pool;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.streams.ReadStream;

import java.time.Clock;

/**
 * The last interceptor: sends the request to a backend of the tenant and streams the response
 * back, both bodies piped with backpressure (nothing is buffered whole).
 *
 * <p>Retry rule: a request is retried once, on the next healthy backend, only when it cannot
 * have reached a backend: the connection could not be opened (that backend is also marked down
 * at once), or a reused keep-alive connection turned out closed before a body-less idempotent
 * request was answered. Anything else would risk sending a request twice.
 */
final class Forwarder implements Interceptor {

  private final HttpClient client;
  private final Clock clock;

  Forwarder(HttpClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  @Override
  public void handle(Exchange ex) {
    HttpServerRequest req = ex.request();
    req.pause(); // nothing is read from the client until a backend is connected
    // A body that fails to decode while the backend connection is being opened: answer now,
    // before Vert.x closes the connection (the pipe to the backend replaces this handler).
    req.exceptionHandler(t -> ex.fail(ProxyError.BAD_REQUEST, "request body: " + describe(t)));
    attempt(ex, null, false);
  }

  private void attempt(Exchange ex, Backend failed, boolean retried) {
    Pool.Pick pick = ex.candidates != null ? Pool.pickHealthy(ex.candidates, failed) : ex.tenant().pool().pick(failed);
    if (pick == null) {
      String none = ex.candidates != null ? "no healthy backend for route_to(" + ex.routeTarget + ")"
          : ex.tenant().pool().backends().isEmpty() ? "tenant has no backend" : "every backend of the tenant is drained";
      ex.fail(failed == null ? ProxyError.NO_BACKEND : ProxyError.UPSTREAM_FAILED,
          failed == null ? none : "no other backend to retry on");
      return;
    }
    Backend backend = pick.backend();
    if (retried) {
      ex.retries++;
    }
    ex.backend = backend;
    ex.fallback = pick.fallback();
    HttpServerRequest req = ex.request();
    Timeouts timeouts = ex.snapshot().config().timeouts();
    RequestOptions options = new RequestOptions()
        .setMethod(req.method())
        .setHost(backend.host())
        .setPort(backend.port())
        .setSsl(backend.ssl())
        .setURI(backend.target(ex.forwardPath(), ex.forwardQuery != null ? ex.forwardQuery : req.query()))
        .setConnectTimeout(timeouts.connect().toMillis());
    ex.upstreamStart = System.nanoTime();
    client.request(options).onComplete(ar -> {
      if (req.response().closed()) {
        if (ar.succeeded()) {
          ar.result().reset();
        }
        return;
      }
      if (ar.succeeded()) {
        if (WebSocketTunnel.isUpgrade(req)) {
          WebSocketTunnel.open(ex, ar.result(), this);
        } else {
          send(ex, ar.result(), retried);
        }
        return;
      }
      String why = "connect to " + backend.url() + " failed: " + describe(ar.cause());
      backend.health().record(false, why, clock.instant());
      if (!retried) {
        attempt(ex, backend, true);
      } else {
        ex.fail(isTimeout(ar.cause()) ? ProxyError.UPSTREAM_TIMEOUT : ProxyError.UPSTREAM_FAILED, why);
      }
    });
  }

  /** Copies the request head (without hop-by-hop headers) and adds the forwarding headers. */
  static void copyRequestHead(Exchange ex, HttpClientRequest upstream) {
    HttpServerRequest req = ex.request();
    MultiMap headers = upstream.headers();
    HopByHop.copy(req.headers(), headers, "host");
    ForwardedHeaders.apply(req, ex.hostHeader(), headers);
    headers.set("X-Request-ID", ex.requestId());
    String clientHost = ex.hostHeader();
    boolean preserve = ex.tenant().config().preserveHost() && clientHost != null;
    headers.set("Host", preserve ? clientHost : ex.backend().authority());
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

  private void send(Exchange ex, HttpClientRequest upstream, boolean retried) {
    HttpServerRequest req = ex.request();
    HttpServerResponse resp = req.response();
    Timeouts timeouts = ex.snapshot().config().timeouts();
    copyRequestHead(ex, upstream);
    upstream.exceptionHandler(Forwarder::handledElsewhere);
    Buffer buffered = ex.bufferedBody; // read whole for a script: goes out with a Content-Length
    boolean chunked = buffered == null && req.headers().contains("Transfer-Encoding");
    boolean hasBody = buffered != null ? buffered.length() > 0
        : chunked || (req.headers().contains("Content-Length") && !"0".equals(req.getHeader("Content-Length")));
    if (chunked) {
      upstream.setChunked(true);
    }
    if (buffered != null) {
      upstream.headers().remove("Expect"); // already answered with 100 Continue
      upstream.headers().set("Content-Length", Integer.toString(buffered.length()));
    } else if (req.headers().contains("Expect")) {
      // The client waits for 100 Continue before sending its body, so the head must go out now
      // (Vert.x would otherwise hold it until the first body bytes).
      upstream.continueHandler(v -> resp.writeContinue());
      upstream.sendHead();
    }
    upstream.earlyHintsHandler(hints -> resp.writeEarlyHints(hints));

    boolean[] upstreamDone = {false};
    boolean[] responded = {false};
    ex.onClientClose(() -> {
      if (!upstreamDone[0]) {
        upstream.reset(); // the client left: abort the backend exchange, do not finish it
      }
    });

    long maxBody = ex.snapshot().config().limits().maxBodySize();
    ReadStream<Buffer> body = chunked && maxBody > 0 ? new LimitedReadStream(req, maxBody) : req;
    Future<Void> sent = buffered != null ? upstream.end(buffered) : body.pipe().endOnFailure(false).to(upstream);
    sent.onComplete(ar -> {
      if (ar.failed()) {
        // The client's body broke off (disconnect, bad chunk, too large): answer the client
        // first, then reset the backend's request so it never sees a complete one.
        if (ar.cause() instanceof LimitedReadStream.TooLarge) {
          ex.fail(ProxyError.BODY_TOO_LARGE, ar.cause().getMessage());
        } else if (!resp.closed()) {
          ex.fail(ProxyError.BAD_REQUEST, "request body: " + describe(ar.cause()));
        }
        upstream.reset();
        return;
      }
      if (!responded[0]) {
        // Cancelled by Vert.x when the response head arrives. Not armed after an early
        // response: a late timer would reset a connection that is back in the pool.
        upstream.idleTimeout(timeouts.responseHeader().toMillis());
      }
    });

    upstream.response().onComplete(ar -> {
      responded[0] = true;
      if (ar.succeeded()) {
        ex.upstreamNanos = System.nanoTime() - ex.upstreamStart;
      }
      if (ar.failed()) {
        upstreamDone[0] = true;
        Throwable cause = ar.cause();
        if (!retried && !hasBody && cause instanceof HttpClosedException && isIdempotent(req.method())) {
          // A pooled connection the backend had already closed: the request was not processed.
          attemptAgain(ex);
          return;
        }
        ex.fail(isTimeout(cause) ? ProxyError.UPSTREAM_TIMEOUT : ProxyError.UPSTREAM_FAILED,
            "backend " + ex.backend().name() + ": " + describe(cause));
        return;
      }
      // A backend that goes quiet mid-body is cut off by the connection's idle timeout (set on
      // the client), not by a per-request timer: one per request would outlive the request.
      relay(ex, ar.result(), () -> upstreamDone[0] = true, upstream);
    });
  }

  private void attemptAgain(Exchange ex) {
    attempt(ex, null, true);
  }

  /**
   * Sends the backend's response to the client: status, end-to-end headers, streamed body. A
   * script's on_response sees the head first (a remote one asynchronously: the body waits).
   */
  void relay(Exchange ex, HttpClientResponse upstreamResponse, Runnable onDone, HttpClientRequest upstream) {
    int status = upstreamResponse.statusCode();
    if (ex.responseHook == null || status < 200) {
      relay(ex, upstreamResponse, onDone, upstream, null);
      return;
    }
    upstreamResponse.pause();
    ex.responseHook.run(ex.backend().name(), status, upstreamResponse.headers().entries()).onComplete(ar -> {
      if (ex.request().response().closed()) {
        onDone.run();
        upstream.reset(); // the client left meanwhile
        return;
      }
      if (ar.succeeded()) {
        relay(ex, upstreamResponse, onDone, upstream, ar.result());
        return;
      }
      boolean limit = ar.cause() instanceof ResponseHook.Failure f && f.limit;
      if (ScriptInterceptor.failedOpen(ex, ar.cause().getMessage(), limit)) {
        relay(ex, upstreamResponse, onDone, upstream, null);
      } else {
        onDone.run();
        upstream.reset(); // the backend's response is discarded, its connection not reused
        ex.fail(ProxyError.SCRIPT_FAILED, "script on_response: " + ar.cause().getMessage());
      }
    });
  }

  private void relay(Exchange ex, HttpClientResponse upstreamResponse, Runnable onDone, HttpClientRequest upstream,
                     ResponseEdits edits) {
    HttpServerRequest req = ex.request();
    HttpServerResponse resp = req.response();
    int status = upstreamResponse.statusCode();
    resp.setStatusCode(edits == null ? status : edits.status());
    if (upstreamResponse.statusMessage() != null && (edits == null || edits.status() == status)) {
      resp.setStatusMessage(upstreamResponse.statusMessage());
    }
    HopByHop.copy(upstreamResponse.headers(), resp.headers(), null);
    if (edits != null) {
      applyEdits(edits.headerEdits(), resp.headers());
    }
    resp.headers().set("X-Request-ID", ex.requestId());
    boolean noBody = req.method() == HttpMethod.HEAD || status == 204 || status == 304 || status < 200;
    if (!noBody && !upstreamResponse.headers().contains("Content-Length") && req.version() != HttpVersion.HTTP_1_0) {
      resp.setChunked(true);
    }
    upstreamResponse.pipe().endOnFailure(false).to(resp).onComplete(ar -> {
      onDone.run();
      if (ar.failed()) {
        // Half a response must not look like a whole one: reset both sides.
        ex.errorDetail = "response stream: " + describe(ar.cause());
        upstream.reset();
        resp.reset();
      }
    });
  }

  /**
   * Upstream failures are handled through the response future and the pipes; without this
   * handler Vert.x would also log each one as an unhandled error.
   */
  static void handledElsewhere(Throwable t) {
  }

  static boolean isIdempotent(HttpMethod m) {
    return m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.OPTIONS || m == HttpMethod.TRACE;
  }

  static boolean isTimeout(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.util.concurrent.TimeoutException
          || c instanceof io.netty.channel.ConnectTimeoutException) {
        return true;
      }
    }
    return false;
  }

  static String describe(Throwable t) {
    String msg = t.getMessage();
    return msg == null ? t.getClass().getSimpleName() : msg;
  }
}
