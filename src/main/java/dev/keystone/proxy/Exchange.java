package dev.keystone.proxy;

import dev.keystone.gateway.Snapshot;
import dev.keystone.gateway.Tenant;
import dev.keystone.upstream.Backend;
import io.vertx.core.http.HttpServerRequest;

import java.util.List;

/**
 * One request as it moves through the interceptor chain: the client request, the snapshot it
 * was routed with, and what each step decided. Confined to the request's event loop.
 */
public final class Exchange {

  private final HttpServerRequest request;
  private final Snapshot snapshot;
  private final List<Interceptor> chain;
  private final long startNanos = System.nanoTime();
  private int position;

  String requestId;
  /**
   * The host the client asked for, as sent: the authority of an absolute-form target
   * ({@code GET http://host/path}), which RFC 9112 says wins, or else the Host header.
   */
  String hostHeader;
  /** {@link #hostHeader} normalised for routing (lower case, no port). */
  String host;
  /** The normalised request path (dot segments removed). */
  String path;
  Tenant tenant;
  /** The path forwarded to the backend, after prefix stripping; starts with '/'. */
  String forwardPath;
  /** Set by a script's route_to: the backends to choose among instead of the whole pool. */
  List<Backend> candidates;
  /** How the script named them, for error messages. */
  String routeTarget;
  /** Header edits from a script: name to value, null to remove; applied to the upstream request. */
  java.util.Map<String, String> headerEdits;
  /** The query string to forward instead of the client's (empty for none), or null. */
  String forwardQuery;
  /** The tenant script's on_response (embedded or remote), when it has one. */
  ResponseHook responseHook;
  /** The whole request body, read for a script ({@code script_body}); forwarded instead of streamed. */
  io.vertx.core.buffer.Buffer bufferedBody;
  Backend backend;
  boolean fallback;
  String errorDetail;

  /** Where {@link Completion} reports the end; null before it ran (or in chains without it). */
  dev.keystone.metrics.Metrics metrics;
  /** When the request to the current backend was started (nanos), for {@link #upstreamNanos}. */
  long upstreamStart;
  /** Time from sending to the backend to its response head, or -1 when no backend answered. */
  long upstreamNanos = -1;
  /** Attempts on another backend after a first one failed. */
  int retries;
  /** Time the script's decision took (embedded call, or remote round trip), or -1 without one. */
  long scriptNanos = -1;
  dev.keystone.metrics.Metrics.ScriptOutcome scriptOutcome = dev.keystone.metrics.Metrics.ScriptOutcome.NONE;

  private List<Runnable> closeListeners;
  boolean completed;

  Exchange(HttpServerRequest request, Snapshot snapshot, List<Interceptor> chain) {
    this.request = request;
    this.snapshot = snapshot;
    this.chain = chain;
  }

  /**
   * Runs {@code listener} if the client connection closes before the response has ended (Vert.x
   * keeps a single close handler per response, so interceptors share this one).
   */
  public void onClientClose(Runnable listener) {
    if (closeListeners == null) {
      closeListeners = new java.util.ArrayList<>(2);
      request.response().closeHandler(v -> {
        if (!request.response().ended()) {
          closeListeners.forEach(Runnable::run);
        }
      });
    }
    closeListeners.add(listener);
  }

  /** Runs the next interceptor. */
  public void next() {
    if (position < chain.size()) {
      chain.get(position++).handle(this);
    }
  }

  /** Answers the request with the error's status and a short body naming the request id. */
  public void fail(ProxyError error, String detail) {
    ErrorResponder.send(this, error, detail);
  }

  public HttpServerRequest request() {
    return request;
  }

  public Snapshot snapshot() {
    return snapshot;
  }

  public String requestId() {
    return requestId;
  }

  public String host() {
    return host;
  }

  public String hostHeader() {
    return hostHeader;
  }

  public String path() {
    return path;
  }

  public Tenant tenant() {
    return tenant;
  }

  public String forwardPath() {
    return forwardPath;
  }

  public Backend backend() {
    return backend;
  }

  public long startNanos() {
    return startNanos;
  }
}
