package dev.keystone.proxy;

import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;
import dev.keystone.model.Backend;
import io.vertx.core.Handler;

import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One request as it moves through the interceptor chain: the client request, the snapshot it
 * was routed with, and what each step decided. Confined to the request's event loop.
 *
 * <p>It is also the request's one error boundary. Interceptors run inside {@link #next()} and
 * callbacks inside {@link #guard}, so an exception anywhere ends in {@link ErrorResponder}: 500
 * with the request id, or a cut connection once a response has started. Once a response has
 * started nothing further runs, and {@link InFlight} ends a request that stops making progress.
 */
public final class Exchange {

  static final Logger LOG = Logger.getLogger("keystone.proxy");

  /**
   * Where the request is. Phases that stream bytes end when the bytes stop for the idle
   * timeout; the others are bounded by their own timers (and by {@link InFlight}'s backstop).
   */
  enum Phase {
    /** In the interceptors before forwarding (validation, routing, an embedded script). */
    STARTED,
    /** Reading a body whole (for a script, or a small one before a backend is picked). Streams. */
    BUFFERING_BODY,
    /** Waiting for a remote engine's decision. */
    SCRIPT,
    /** Waiting for a connection to a backend (pool wait and connect). */
    CONNECTING,
    /** Sending the request body to the backend. Streams. */
    SENDING,
    /** The request is sent; waiting for the response head. */
    AWAITING_HEAD,
    /** Sending the response to the client. Streams. */
    RESPONDING,
    /** Over: answered, or turned into a WebSocket tunnel. */
    DONE
  }

  private final ClientSide client;
  private final Snapshot snapshot;
  private final List<Interceptor> chain;
  private final long startNanos = System.nanoTime();
  private int position;

  Phase phase = Phase.STARTED;
  /** When something last happened: a byte moved, a phase began (nanos). */
  long progressNanos = startNanos;

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
  /** The scripted tenant's log budget, for the lines its script failures write (set by ScriptInterceptor). */
  dev.keystone.script.LogBudget scriptLog;
  /** Where this request's held bytes ({@link #hold}) are counted, and how many; given back by {@link Completion}. */
  private dev.keystone.script.TenantAccount heldBy;
  private long held;
  /** The whole request body, read for a script ({@code script_body}); forwarded instead of streamed. */
  byte[] bufferedBody;
  Backend backend;
  boolean fallback;
  String errorDetail;
  /** The subject of the client certificate verified for this request (mutual TLS), for the access log; null: none. */
  String clientSubject;
  /** The rate limit to tell the client about (RateLimit-* headers), or null: the tenant has none. */
  dev.keystone.policy.LimitDecision rateLimit;
  /** The name of the API key the request presented (never the key itself), or null. */
  String apiKeyName;
  /** The subject of the request's valid JWT, or null (the access log). */
  String jwtSubject;
  /** A 401's WWW-Authenticate challenge (how to authenticate), or null. */
  String challenge;

  /** Where {@link Completion} reports the end; null before it ran (or in chains without it). */
  dev.keystone.metrics.Metrics metrics;
  /** The event loop's requests in flight, for the stall checks; null in chains without it. */
  InFlight inFlight;
  /** Links of {@link InFlight}'s list, and the list this exchange is on (null: none). */
  InFlight inFlightList;
  Exchange inFlightPrev;
  Exchange inFlightNext;
  /** When the request to the current backend was started (nanos), for {@link #upstreamNanos}. */
  long upstreamStart;
  /** Time from sending to the backend to its response head, or -1 when no backend answered. */
  long upstreamNanos = -1;
  /** Attempts after a first one failed. */
  int retries;
  /** Time the script's decision took (embedded call, or remote round trip), or -1 without one. */
  long scriptNanos = -1;
  dev.keystone.metrics.Metrics.ScriptOutcome scriptOutcome = dev.keystone.metrics.Metrics.ScriptOutcome.NONE;

  /** A response was started by some step: no interceptor runs after this. */
  boolean answered;
  /** The gateway cut a response it had started (the backend broke off, or a bug). */
  boolean truncated;
  /** When the wait for the response head ends (nanos), for the loop's sweep; see {@link #onHeadTimeout}. */
  long headDeadline;
  /** What the sweep runs when {@link #headDeadline} passes while waiting for the head; null when nothing waits. */
  Runnable onHeadTimeout;
  /** Ends the upstream side early (the client left, the request stalled); null when there is none. */
  Runnable abortUpstream;
  /** A copy of this request went (or was refused) to the tenant's mirror: not again on a retry. */
  boolean copiedToMirror;
  /** What a script in shadow mode decided, not applied ("route:canary", "reject:403", "error"...), or null. */
  String shadowDecision;
  /** The response waits for the client to read it: reading from the backend is paused. */
  boolean clientBlocked;
  /** While the client is blocked: what it had still to take at the last sweep (InFlight), else -1. */
  long blockedBytes = -1;
  /** The request body is being sent and the backend is not taking it (its write queue is full). */
  boolean backendBlocked;
  /** A failure of this request was already counted against its backend (once per request: R5-4). */
  boolean backendBlamed;
  /**
   * The gateway ended the request because of the client (it stopped reading or sending): what
   * that does to the upstream side is not the backend's failure.
   */
  boolean clientFault;

  boolean completed;

  Exchange(ClientSide client, Snapshot snapshot, List<Interceptor> chain) {
    this.client = client;
    this.snapshot = snapshot;
    this.chain = chain;
  }

  /** Runs {@code listener} if the client connection closes before the response has ended. */
  public void onClientClose(Runnable listener) {
    client.onClose(listener);
  }

  /** Runs the next interceptor, unless a response has already started. */
  public void next() {
    ResponseSink resp = client.response();
    if (answered || resp.headWritten() || resp.ended() || position >= chain.size()) {
      return;
    }
    Interceptor step = chain.get(position++);
    try {
      step.handle(this);
    } catch (Throwable t) {
      internalError(t);
    }
  }

  /** {@code handler} inside this request's error boundary: what it throws becomes a 500. */
  public <T> Handler<T> guard(Handler<T> handler) {
    return value -> {
      try {
        handler.handle(value);
      } catch (Throwable t) {
        internalError(t);
      }
    };
  }

  /** {@code task} inside this request's error boundary. */
  public Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (Throwable t) {
        internalError(t);
      }
    };
  }

  /** Runs {@code task} soon on this request's event loop, inside its error boundary. */
  public void later(Runnable task) {
    client.runOnLoop(() -> {
      try {
        task.run();
      } catch (Throwable t) {
        internalError(t);
      }
    });
  }

  /** Runs {@code task} on this request's event loop after {@code delayMillis}, inside its error boundary. */
  public void after(long delayMillis, Runnable task) {
    client.runLater(() -> {
      try {
        task.run();
      } catch (Throwable t) {
        internalError(t);
      }
    }, delayMillis);
  }

  /** Answers the request with the error's status and a short body naming the request id. */
  public void fail(ProxyError error, String detail) {
    ErrorResponder.send(this, error, detail);
  }

  /** An exception nobody handled: a bug. Logged with its stack, answered 500 (or cut). */
  void internalError(Throwable t) {
    if (t instanceof VirtualMachineError e) {
      throw e;
    }
    LOG.log(Level.SEVERE, "request " + requestId + ": unhandled exception", t);
    ErrorResponder.send(this, ProxyError.INTERNAL, "internal error: " + t);
  }

  /**
   * Counts {@code bytes} this request will keep until it ends against its tenant's account;
   * answers 503 and returns false when the tenant or the process has no room for them.
   */
  boolean hold(dev.keystone.script.TenantAccount account, long bytes) {
    String full = tryHold(account, bytes);
    if (full != null) {
      fail(ProxyError.TENANT_OVERLOADED, "request data held in flight: " + full);
      return false;
    }
    return true;
  }

  /** The same without answering: null when counted, else why not. */
  String tryHold(dev.keystone.script.TenantAccount account, long bytes) {
    if (heldBy != null && heldBy != account) {
      throw new IllegalStateException("one account per request");
    }
    String full = account.take(bytes);
    if (full == null) {
      heldBy = account;
      held += bytes;
    }
    return full;
  }

  /** Gives back what {@link #hold} counted. */
  void releaseHeld() {
    if (heldBy != null && held > 0) {
      heldBy.give(held);
      held = 0;
    }
  }

  /** Notes progress: a byte moved, or a new phase began. */
  void progress() {
    progressNanos = System.nanoTime();
  }

  void phase(Phase p) {
    phase = p;
    progressNanos = System.nanoTime();
  }

  /** Ends the upstream side, if there is one still running. */
  void abortUpstream() {
    Runnable a = abortUpstream;
    abortUpstream = null;
    if (a != null) {
      a.run();
    }
  }

  /** The transport's side of this request (the seam). */
  public ClientSide client() {
    return client;
  }

  public RequestHead head() {
    return client.head();
  }

  public BodySource body() {
    return client.body();
  }

  public ResponseSink response() {
    return client.response();
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
