package dev.keystone.proxy;

import dev.keystone.script.ResponseEdits;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

import java.util.Map;
import java.util.function.Consumer;

/**
 * Sends the backend's response to the client: status, end-to-end headers, {@code Via}, the body
 * streamed with backpressure, and trailers. A script's on_response sees the head first (a remote
 * one asynchronously: the body waits). Every response is framed for the client it goes to: an
 * HTTP/1.1 client gets chunked encoding when the backend gave no length; an HTTP/1.0 client,
 * which has no chunked encoding, gets the body delimited by the end of the connection.
 */
final class ResponseRelay {

  /** How the relay ended, for the {@link UpstreamCall}. */
  enum End { COMPLETE, UPSTREAM_BROKE, CLIENT_GONE, DISCARDED }

  private final Exchange ex;
  private final HttpClientResponse from;
  private final HttpServerResponse to;
  private final Consumer<End> done;
  private boolean closeAfter;
  private boolean finished;

  /**
   * @param closeAfter the request body was not read whole: say {@code Connection: close} and
   *                   close the client connection once the response is out
   * @param done       called once, when the relay is over
   */
  ResponseRelay(Exchange ex, HttpClientResponse from, boolean closeAfter, Consumer<End> done) {
    this.ex = ex;
    this.from = from;
    this.to = VertxClientSide.request(ex).response();
    this.closeAfter = closeAfter;
    this.done = done;
  }

  void start() {
    int status = from.statusCode();
    if (ex.responseHook == null || status < 200) {
      relay(null);
      return;
    }
    from.pause();
    ex.phase(Exchange.Phase.SCRIPT);
    ex.responseHook.run(ex.backend().name(), status, from.headers().entries()).onComplete(ex.guard(ar -> {
      if (to.closed() || ex.clientFault || ex.completed) {
        finish(End.CLIENT_GONE);
        return;
      }
      if (ar.succeeded()) {
        relay(ar.result());
        return;
      }
      boolean limit = ar.cause() instanceof ResponseHook.Failure f && f.limit;
      if (ScriptInterceptor.failedOpen(ex, ar.cause().getMessage(), limit)) {
        relay(null);
      } else {
        finish(End.DISCARDED); // the backend's response is dropped, its connection not reused
        ex.fail(ProxyError.SCRIPT_FAILED, "script on_response: " + ar.cause().getMessage());
      }
    }));
  }

  /** The client connection closes after this response (the request body will not be read whole). */
  void closeAfter() {
    if (!closeAfter) {
      closeAfter = true;
      ex.response().closeAfterEnd(); // when the head is still to come, it says so too
    }
  }

  private void relay(ResponseEdits edits) {
    HttpServerRequest req = VertxClientSide.request(ex);
    int status = from.statusCode();
    ex.answered = true;
    to.setStatusCode(edits == null ? status : edits.status());
    if (from.statusMessage() != null && (edits == null || edits.status() == status)) {
      to.setStatusMessage(from.statusMessage());
    }
    MultiMap headers = to.headers();
    HopByHop.copy(from.headers(), headers, null);
    if (edits != null) {
      UpstreamCall.applyEdits(edits.headerEdits(), headers);
    }
    headers.set("X-Request-ID", ex.requestId());
    headers.set("Via", ForwardedHeaders.appended(from.headers(), "Via", ForwardedHeaders.via(from.version())));
    boolean noBody = req.method() == HttpMethod.HEAD || status == 204 || status == 304 || status < 200;
    boolean sized = from.headers().contains("Content-Length");
    if (!noBody && !sized) {
      if (req.version() == HttpVersion.HTTP_1_0) {
        closeAfter = true; // no chunked encoding in HTTP/1.0: the close ends the body
      } else {
        to.setChunked(true);
        String announced = from.getHeader("Trailer");
        if (announced != null) {
          headers.set("Trailer", announced);
        }
      }
    }
    if (closeAfter) {
      ex.response().closeAfterEnd();
      // Vert.x writes "Connection: keep-alive" for a keep-alive HTTP/1.0 request when it sends
      // the head; this runs after that and has the last word.
      to.headersEndHandler(v -> to.headers().set("Connection", "close"));
    }
    ex.phase(Exchange.Phase.RESPONDING);
    if (req.method() == HttpMethod.HEAD) {
      // A HEAD's answer is whole with its head. Netty's client codec forgets the HEAD after an
      // interim answer (103, 100) and waits for the body the head announces (attack R5-1): the
      // client gets its answer now, and a connection still waiting is dropped, not pooled.
      boolean whole = from.end().isComplete();
      from.handler(null);
      end(whole ? End.COMPLETE : End.DISCARDED);
      return;
    }
    // The head goes out without waiting for the first body byte (R5-2), but after the body that
    // came in the same read: written together, head and first bytes cost one write, not two.
    io.vertx.core.Vertx.currentContext().runOnContext(v -> ex.response().writeHead());
    from.handler(ex.guard(this::chunk));
    from.exceptionHandler(ex.guard(t -> {
      if (to.closed() || ex.clientFault || ex.completed) {
        finish(End.CLIENT_GONE);
        return;
      }
      ex.errorDetail = "response stream: " + Failures.describe(t);
      finish(End.UPSTREAM_BROKE);
    }));
    from.endHandler(ex.guard(v -> end()));
    from.resume();
  }

  private void chunk(Buffer b) {
    if (finished) {
      return;
    }
    ex.progress();
    to.write(b);
    if (to.writeQueueFull()) {
      from.pause();
      HttpConnection upstream = from.request().connection();
      PendingReads.holdReads(upstream);
      to.drainHandler(ex.guard(v -> {
        ex.progress();
        if (!finished) {
          PendingReads.releaseReads(upstream);
          from.resume();
        }
      }));
    }
  }

  private void end() {
    end(End.COMPLETE);
  }

  private void end(End how) {
    if (finished) {
      return;
    }
    if (to.isChunked()) {
      for (Map.Entry<String, String> t : from.trailers()) {
        if (!HopByHop.isFixed(t.getKey()) && !t.getKey().equalsIgnoreCase("content-length")
            && !t.getKey().equalsIgnoreCase("host") && !RequestSyntax.hasControlChar(t.getValue())) {
          to.trailers().add(t.getKey(), t.getValue());
        }
      }
    }
    boolean close = closeAfter;
    to.end().onComplete(ar -> {
      if (close) {
        VertxClientSide.request(ex).connection().close();
      }
    });
    finish(how);
  }

  private void finish(End how) {
    if (finished) {
      return;
    }
    finished = true;
    if (how == End.UPSTREAM_BROKE && !to.headWritten()) {
      // Nothing of it reached the client yet (the body broke before its first byte): a clean 502.
      ex.fail(ProxyError.UPSTREAM_FAILED, ex.errorDetail);
    } else if (how == End.UPSTREAM_BROKE && !to.ended()) {
      // Half a response must not look like a whole one: cut the client connection.
      ex.truncated = true;
      ClientConnections.cut(ClientConnections.channel(VertxClientSide.request(ex).connection()));
    }
    done.accept(how);
  }
}
