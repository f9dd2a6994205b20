package dev.keystone.proxy;

import dev.keystone.model.Backend;
import dev.keystone.script.ResponseEdits;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Sends a backend's response (read by Netty) to the client: status, end-to-end headers,
 * {@code Via}, the body with backpressure (the backend connection stops reading while the
 * client's is full), and trailers. A script's on_response sees the head first; what arrives
 * meanwhile waits. Framed for the client it goes to: chunked for an HTTP/1.1 client when the
 * backend gave no length, delimited by the close for an HTTP/1.0 one.
 */
final class BackendRelay {

  enum End { COMPLETE, UPSTREAM_BROKE, CLIENT_GONE, DISCARDED }

  private final Exchange ex;
  private final BackendConnection conn;
  private final HttpResponse head;
  private final Consumer<End> done;
  /** Whether the backend's head lets its connection be used again (Connection, version). */
  private boolean backendKeepsAlive;
  /** The head is to be written at the end of the backend's current read (see {@link #readComplete}). */
  private boolean headDue;
  private final ResponseSink sink;
  private boolean closeAfter;
  private boolean chunked;
  private boolean finished;
  private boolean complete;
  /** Parts that arrived while on_response ran; null when relaying directly. */
  private ArrayDeque<HttpObject> held;

  BackendRelay(Exchange ex, BackendConnection conn, HttpResponse head, boolean closeAfter, Consumer<End> done) {
    this.ex = ex;
    this.conn = conn;
    this.head = head;
    this.closeAfter = closeAfter;
    this.done = done;
    this.sink = ex.response();
  }

  /** Why a response head can't be relayed at all (502), or null. */
  static String refusal(HttpResponse r, Backend backend) {
    int status = r.status().code();
    if (status < 200 || status > 599) {
      // A 101 to a request that asked for no upgrade, or a status beyond 599: passing it on
      // would desync the client's connection.
      return "backend " + backend.name() + " answered " + status + " as a final response";
    }
    String named = framingNamedInConnection(r.headers().getAll("Connection"));
    if (named != null) {
      // A hop would drop the very field that frames this response (RFC 9110 section 7.6.1).
      return "backend " + backend.name() + " answered with a Connection header naming " + named;
    }
    List<String> codings = r.headers().getAll("Transfer-Encoding");
    if (!codings.isEmpty() && !(codings.size() == 1 && codings.get(0).trim().equalsIgnoreCase("chunked"))) {
      // RFC 9112 section 6.1: chunked must be the final coding, and a coding the gateway would
      // drop (gzip) leaves the client with bytes it can't read (R3-4).
      return "backend " + backend.name() + " answered with Transfer-Encoding: "
          + RequestSyntax.printable(String.join(", ", codings));
    }
    return null;
  }

  /** The framing header (Content-Length, Transfer-Encoding) a Connection header names, or null. */
  static String framingNamedInConnection(List<String> connection) {
    for (String c : connection) {
      for (String token : c.split(",")) {
        String t = token.trim();
        if (t.equalsIgnoreCase("content-length") || t.equalsIgnoreCase("transfer-encoding")) {
          return RequestSyntax.printable(t);
        }
      }
    }
    return null;
  }

  void start() {
    int status = head.status().code();
    if (ex.responseHook == null) {
      relayHead(null);
      return;
    }
    held = new ArrayDeque<>();
    conn.channel.config().setAutoRead(false);
    ex.phase(Exchange.Phase.SCRIPT);
    ex.responseHook.run(ex.backend().name(), status, head.headers().entries()).onComplete(ex.guard(ar -> {
      if (finished) {
        return;
      }
      if (sink.closed() || ex.clientFault || ex.completed) {
        end(End.CLIENT_GONE);
        return;
      }
      if (ar.succeeded()) {
        relayHead(ar.result());
      } else {
        boolean limit = ar.cause() instanceof ResponseHook.Failure f && f.limit;
        if (ScriptInterceptor.failedOpen(ex, ar.cause().getMessage(), limit)) {
          relayHead(null);
        } else {
          end(End.DISCARDED); // the backend's response is dropped, its connection not reused
          ex.fail(ProxyError.SCRIPT_FAILED, "script on_response: " + ar.cause().getMessage());
          return;
        }
      }
      ArrayDeque<HttpObject> waiting = held;
      held = null;
      while (!waiting.isEmpty() && !finished) {
        deliver(waiting.poll());
      }
      waiting.forEach(ReferenceCountUtil::release);
      readComplete(); // the head and what was held, out now: the backend's reads are over
      if (!finished) {
        conn.channel.config().setAutoRead(true);
      }
    }));
  }

  private void relayHead(ResponseEdits edits) {
    int status = head.status().code();
    ex.answered = true;
    sink.status(edits == null ? status : edits.status());
    HttpHeaders in = head.headers();
    // What the backend said that decides framing and reuse, read before its hop-by-hop headers
    // go (attack D1-1: a Connection: close stripped first left the connection in the pool).
    backendKeepsAlive = HttpUtil.isKeepAlive(head);
    boolean noBody = ex.head().method() == HttpMethod.HEAD || status == 204 || status == 304;
    boolean length = in.contains("Content-Length");
    String announced = in.get("Trailer");
    String via = ForwardedHeaders.appended(in.getAll("Via"), ForwardedHeaders.via(head.protocolVersion()));
    HttpHeaders out;
    if (sink.adoptHeaders(in)) {
      HopByHop.strip(in); // the backend's headers, edited in place, are the answer's
      out = in;
    } else {
      out = sink.headers();
      HopByHop.copy(in, out::add, null);
    }
    if (edits != null) {
      RequestHeads.apply(edits.headerEdits(), out);
    }
    out.set("X-Request-ID", ex.requestId());
    out.set("Via", via);
    Hsts.apply(ex, out);
    RateLimitHeaders.apply(ex, out);
    if (!noBody && !length) {
      if (ex.head().version() == HttpVersion.HTTP_1_0) {
        closeAfter = true; // no chunked encoding in HTTP/1.0: the close ends the body
      } else {
        chunked = true;
        if (announced != null) {
          out.set("Trailer", announced);
        }
      }
    }
    if (closeAfter) {
      sink.closeAfterEnd();
    }
    ex.phase(Exchange.Phase.RESPONDING);
    // Without waiting for the first body byte (R5-2), but after the body that came in the same
    // read: written together, head and first bytes cost one write, not two (readComplete).
    headDue = !noBody;
  }

  /**
   * The backend connection's read is done: the head (if not written yet) and the body bytes
   * written since the last read go out, in one write.
   */
  void readComplete() {
    if (headDue) {
      headDue = false;
      sink.writeHead(); // unless body bytes of this read wrote it already
    }
    sink.flush();
  }

  /** A part of the response after its head. */
  void part(HttpObject msg) {
    if (held != null) {
      held.add(msg);
    } else {
      deliver(msg);
    }
  }

  private void deliver(HttpObject msg) {
    if (finished || !(msg instanceof HttpContent c)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    try {
      deliverContent(c);
    } finally {
      c.release();
    }
  }

  private void deliverContent(HttpContent c) {
    ByteBuf bytes = c.content();
    if (bytes.isReadable()) {
      ex.progress();
      sink.write(bytes.retain());
      if (sink.writeQueueFull()) {
        conn.channel.config().setAutoRead(false);
        ex.clientBlocked = true;
        sink.onDrain(ex.guarded(() -> {
          ex.clientBlocked = false;
          ex.progress();
          if (!finished) {
            conn.channel.config().setAutoRead(true);
          }
        }));
      }
    }
    if (c instanceof LastHttpContent last) {
      if (chunked) {
        for (Map.Entry<String, String> t : last.trailingHeaders()) {
          if (!HopByHop.isFixed(t.getKey()) && !t.getKey().equalsIgnoreCase("content-length")
              && !t.getKey().equalsIgnoreCase("host") && !RequestSyntax.hasControlChar(t.getValue())) {
            sink.trailers().add(t.getKey(), t.getValue());
          }
        }
      }
      complete = true;
      finished = true;
      sink.finish(closeAfter);
      done.accept(End.COMPLETE);
    }
  }

  /** Nothing the backend can send will finish the response now. */
  void broke(String why) {
    if (finished) {
      return;
    }
    if (sink.closed() || ex.clientFault || ex.completed) {
      end(End.CLIENT_GONE);
      return;
    }
    ex.errorDetail = "response stream: " + why;
    if (!sink.headWritten()) {
      end(End.UPSTREAM_BROKE);
      ex.fail(ProxyError.UPSTREAM_FAILED, ex.errorDetail); // nothing reached the client yet: a clean 502
      return;
    }
    ex.truncated = true; // half a response must not look like a whole one
    sink.cut();
    end(End.UPSTREAM_BROKE);
  }

  /** The client connection closes after this response (the request body will not be read whole). */
  void closeClientAfter() {
    if (!closeAfter) {
      closeAfter = true;
      sink.closeAfterEnd();
    }
  }

  /** Stops relaying; nothing more is reported. */
  void stop() {
    finished = true;
    if (held != null) {
      held.forEach(ReferenceCountUtil::release);
      held.clear();
    }
  }

  /** The response was read whole and its connection may carry another request. */
  boolean reusable() {
    return complete && backendKeepsAlive && ex.head().method() != HttpMethod.HEAD;
  }

  private void end(End how) {
    finished = true;
    if (held != null) {
      held.forEach(ReferenceCountUtil::release);
      held.clear();
    }
    done.accept(how);
  }
}
