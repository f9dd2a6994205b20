package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.internal.buffer.BufferInternal;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.logging.Level;

/**
 * The transport seam ({@link ClientSide}) over Vert.x's HTTP/1.1 server request. Vert.x keeps
 * its headers in {@code HeadersMultiMap}, which is Netty's {@link HttpHeaders}, so they are
 * handed out as they are, edited in place. Forwarding on Vert.x reaches the request through
 * {@link #request(Exchange)}; nothing else in the chain does.
 */
final class VertxClientSide implements ClientSide, RequestHead, BodySource {

  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final Context context;
  private final HttpMethod method;
  private HttpHeaders headers;
  private boolean reading;
  private boolean failed;
  private List<Runnable> closeListeners;
  private final Sink sink = new Sink();

  VertxClientSide(HttpServerRequest request) {
    this.request = request;
    this.response = request.response();
    this.context = Vertx.currentContext();
    this.method = method(request.method().name());
  }

  /** A request that failed to decode may carry a name that is no method at all. */
  private static HttpMethod method(String name) {
    try {
      return HttpMethod.valueOf(name);
    } catch (IllegalArgumentException e) {
      return UNPARSED;
    }
  }

  private static final HttpMethod UNPARSED = new HttpMethod("UNPARSED");

  /** The Vert.x request of an exchange on this transport, for the Vert.x forwarding only. */
  static HttpServerRequest request(Exchange ex) {
    return ((VertxClientSide) ex.client()).request;
  }

  HttpConnection connection() {
    return request.connection();
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
    response.endHandler(v -> listener.run());
  }

  /** Vert.x keeps a single close handler per response, so listeners share this one. */
  @Override
  public void onClose(Runnable listener) {
    if (closeListeners == null) {
      closeListeners = new ArrayList<>(2);
      response.closeHandler(v -> {
        if (!response.ended()) {
          for (Runnable r : closeListeners) {
            try {
              r.run();
            } catch (RuntimeException e) {
              Exchange.LOG.log(Level.SEVERE, "a close listener failed", e);
            }
          }
        }
      });
    }
    closeListeners.add(listener);
  }

  @Override
  public void runOnLoop(Runnable task) {
    context.runOnContext(v -> task.run());
  }

  @Override
  public void closeNow() {
    ClientConnections.forceClose(ClientConnections.channel(request.connection()));
  }

  // RequestHead

  @Override
  public HttpMethod method() {
    return method;
  }

  @Override
  public String uri() {
    return request.uri();
  }

  @Override
  public String path() {
    return request.path();
  }

  @Override
  public String query() {
    return request.query();
  }

  @Override
  public HttpVersion version() {
    return request.version() == io.vertx.core.http.HttpVersion.HTTP_1_0 ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1;
  }

  @Override
  public HttpHeaders headers() {
    if (headers == null) {
      io.vertx.core.MultiMap m = request.headers();
      if (m instanceof HttpHeaders h) {
        headers = h;
      } else {
        // A request that failed to decode comes with an adaptor instead: read from a copy.
        headers = new io.netty.handler.codec.http.DefaultHttpHeaders(false);
        m.forEach(e -> headers.add(e.getKey(), e.getValue()));
      }
    }
    return headers;
  }

  @Override
  public String clientAddress() {
    return request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
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
    if (failed) {
      return State.FAILED;
    }
    if (request.isEnded()) {
      return State.CONSUMED;
    }
    return reading ? State.STREAMING : State.UNREAD;
  }

  @Override
  public long declaredLength() {
    return ClientBody.declaredLength(headers());
  }

  @Override
  public void read(Consumer<ByteBuf> chunk, Runnable end, Consumer<Throwable> error) {
    reading = true;
    request.handler(b -> chunk.accept(((BufferInternal) b).getByteBuf()));
    request.exceptionHandler(t -> {
      failed = true;
      error.accept(t);
    });
    request.endHandler(v -> {
      request.handler(null);
      request.endHandler(null);
      end.run();
    });
    request.resume();
  }

  @Override
  public void drop() {
    reading = true;
    request.handler(VertxClientSide::discard);
    request.exceptionHandler(t -> failed = true);
    request.endHandler(null);
    request.resume();
  }

  private static void discard(Buffer b) {
  }

  @Override
  public void pause() {
    request.pause();
  }

  @Override
  public void resume() {
    request.resume();
  }

  @Override
  public void onUnreadFailure(Consumer<Throwable> handler) {
    request.exceptionHandler(t -> {
      failed = true;
      handler.accept(t);
    });
  }

  /** The response side: Vert.x's response with the gateway's close rules. */
  private final class Sink implements ResponseSink {


    @Override
    public int status() {
      return response.getStatusCode();
    }

    @Override
    public void status(int code) {
      response.setStatusCode(code);
      // A relay may have set the backend's reason phrase already: the status's own goes with it (R4-3).
      response.setStatusMessage(io.netty.handler.codec.http.HttpResponseStatus.valueOf(code).reasonPhrase());
    }

    @Override
    public HttpHeaders headers() {
      return (HttpHeaders) response.headers();
    }

    @Override
    public boolean headWritten() {
      return response.headWritten();
    }

    @Override
    public boolean ended() {
      return response.ended();
    }

    @Override
    public boolean closed() {
      return response.closed();
    }

    @Override
    public long bytesWritten() {
      return response.bytesWritten();
    }

    @Override
    public void writeContinue() {
      response.writeContinue();
    }

    @Override
    public void write(ByteBuf chunk) {
      if (response.closed() || response.ended()) {
        chunk.release(); // nothing more reaches this client
        return;
      }
      if (!response.headWritten() && !response.headers().contains("Content-Length")) {
        response.setChunked(true);
      }
      // Vert.x writes an unreleasable slice of a pooled buffer: the reference is given back
      // once the write is done (the bytes are out of the socket buffer or the write failed).
      response.write(BufferInternal.buffer(chunk)).onComplete(ar -> chunk.release());
    }

    @Override
    public void writeHead() {
      if (response.closed() || response.ended() || response.headWritten()) {
        return;
      }
      if (!response.headers().contains("Content-Length")) {
        if (request.version() == io.vertx.core.http.HttpVersion.HTTP_1_0) {
          // Close-delimited: Vert.x writes such a head only with body bytes, so with none yet (R6-1).
          response.write(io.vertx.core.buffer.Buffer.buffer());
          return;
        }
        response.setChunked(true);
      }
      response.writeHead();
    }

    @Override
    public void end(String body) {
      response.end(body);
    }

    @Override
    public void endAndClose(String body) {
      HttpConnection conn = request.connection();
      response.putHeader("Connection", "close");
      ClientConnections.lingerOnClose(ClientConnections.channel(conn));
      response.end(body).onComplete(v -> conn.close());
      // A request whose body failed to decode: Vert.x closes the channel within the same read,
      // before its batched writes would be flushed.
      StrictRequestDecoder.flushNow(conn);
    }

    @Override
    public void closeAfterEnd() {
      response.putHeader("Connection", "close");
      // Vert.x writes "Connection: keep-alive" for a keep-alive HTTP/1.0 request when it sends
      // the head; this runs after that and has the last word.
      response.headersEndHandler(v -> response.headers().set("Connection", "close"));
      ClientConnections.lingerOnClose(ClientConnections.channel(request.connection()));
    }

    @Override
    public boolean writeQueueFull() {
      return response.writeQueueFull();
    }

    @Override
    public void onDrain(Runnable task) {
      response.drainHandler(v -> task.run());
    }

    @Override
    public HttpHeaders trailers() {
      return (HttpHeaders) response.trailers();
    }

    @Override
    public void writeInterim(HttpHeaders headers) {
      io.vertx.core.MultiMap m = io.vertx.core.http.HttpHeaders.headers();
      headers.forEach(e -> m.add(e.getKey(), e.getValue()));
      response.writeEarlyHints(m);
    }

    @Override
    public void finish(boolean close) {
      response.end().onComplete(ar -> {
        if (close) {
          request.connection().close();
        }
      });
    }

    @Override
    public void cut() {
      ClientConnections.cut(ClientConnections.channel(request.connection())); // a graceful close would wait for the client
    }
  }
}
