package dev.keystone.engine;

import dev.keystone.script.Decision;
import dev.keystone.script.ResponseEdits;
import dev.keystone.script.ScriptRequest;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The gateway's side of a remote script engine, one per event loop: pooled keep-alive
 * connections, a deadline per call (a hung engine costs at most that), and two kinds of circuit
 * breaker. Every failure (engine down, slow, broken answer, script error) fails the returned
 * future, and the caller applies the tenant's on_script_error policy.
 *
 * <p>Whose fault a failure is decides which circuit it counts against. An engine that refuses
 * connections, resets them, answers 5xx or garbage, or answers nothing at all for a while, counts
 * against the engine's address. A call that the engine answers with a limit error (deadline,
 * memory, time share) counts against the tenant: a tenant whose script loops must not open the
 * circuit of an engine every other tenant shares (attack on the Node engine, round 2, N2-1). A
 * call that runs out of time counts against nobody when the engine answers other calls: the
 * tenant may only have waited behind another's (round 3, N3-2); and a 4xx answer is the call's
 * failure, not the engine's (N3-4). The engine is asked to end each call
 * {@link #engineDeadline a little before} the gateway stops waiting, so that a script stopped at
 * its deadline arrives as the engine's limit error, not as a timeout.
 */
public final class EngineClient {

  /** The engine could not give a decision: unreachable, too slow, circuit open or a bad answer. */
  public static final class EngineUnavailable extends Exception {
    private final boolean timedOut;

    public EngineUnavailable(String message) {
      this(message, false);
    }

    EngineUnavailable(String message, boolean timedOut) {
      super(message, null, false, false);
      this.timedOut = timedOut;
    }

    /** Whether the deadline passed (then no other engine is tried: the deadline is the budget). */
    public boolean timedOut() {
      return timedOut;
    }
  }

  private final Vertx vertx;
  private final HttpClient client;
  private static final java.util.regex.Pattern TENANT_HEADER_SAFE = java.util.regex.Pattern.compile("[\\x21-\\x7e]{1,256}");
  private final Map<String, CircuitBreaker> breakers = new HashMap<>();
  /** Per tenant: its calls that ran out of time or hit a limit, five in a row. */
  private final Map<String, CircuitBreaker> tenantBreakers = new HashMap<>();
  private final Map<String, Target> targets = new HashMap<>();
  /**
   * How long an engine must have answered nothing before a timeout counts against it: a busy
   * engine (eight clients' 300 KB bodies to parse) was silent for a second and its circuit opened
   * for every tenant (round 4, N4-2); a hung supervised engine is killed after three missed health
   * checks anyway (about 6 s).
   */
  private static final long SILENCE_NANOS = 5_000_000_000L;
  /** When each engine last answered anything (nanoTime): a timeout counts against it only after a silence. */
  private final Map<String, Long> answered = new HashMap<>();
  /**
   * Calls sent to each engine and not answered yet. The silence is counted only while some are:
   * an engine that was merely idle for five seconds was taken for a hung one by the first
   * timeouts after (attack round 5, N5-1).
   */
  private final Map<String, Integer> pending = new HashMap<>();
  private final DecideRequestWriter writer = new DecideRequestWriter();
  private long next;

  public EngineClient(Vertx vertx) {
    this.vertx = vertx;
    this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(64));
  }

  /**
   * Asks one of the engines at {@code urls} (round-robin over those whose circuit lets a call
   * through) what {@code script} decides for {@code r}, within {@code deadline}.
   */
  public Future<Decision> decide(List<String> urls, Duration deadline, String script, ScriptRequest r) {
    return decide(urls, deadline, script, null, r);
  }

  /** The same for a catalog script: {@code params} (a JSON object's text, or null) go with the call. */
  public Future<Decision> decide(List<String> urls, Duration deadline, String script, String params, ScriptRequest r) {
    return exchange(urls, deadline, r.tenant(), "/v1/decide", () -> writer.write(r, script, params, engineDeadline(deadline)),
        json -> EngineProtocol.decision(json, r.backends()));
  }

  /**
   * The response phase ({@code POST /v1/respond}), for a script whose decide answer asked for it:
   * its {@code on_response} edits of the backend's response head, within {@code deadline}.
   */
  public Future<ResponseEdits> respond(List<String> urls, Duration deadline, String script, ScriptRequest r,
                                       String backend, int status, List<Map.Entry<String, String>> headers) {
    return respond(urls, deadline, script, null, r, backend, status, headers);
  }

  /** The same for a catalog script, with its {@code params}. */
  public Future<ResponseEdits> respond(List<String> urls, Duration deadline, String script, String params, ScriptRequest r,
                                       String backend, int status, List<Map.Entry<String, String>> headers) {
    return exchange(urls, deadline, r.tenant(), "/v1/respond",
        () -> writer.writeRespond(r, script, params, engineDeadline(deadline), backend, status, headers),
        json -> ResponsePhase.edits(json, status));
  }

  /** Reads an engine's JSON answer; a ScriptError means the engine works but the script failed. */
  private interface AnswerParser<T> {
    T parse(JsonObject answer) throws EngineProtocol.ScriptError;
  }

  /**
   * The deadline the engine is asked to keep ({@code deadline_ms}): the gateway's, less 30 % (at
   * least 10 ms) for the request to reach the engine, the engine to stop the script, answer and be
   * read, on a busy host too (a fifth left looping calls' answers just past 50 ms: round 4).
   */
  static long engineDeadline(Duration timeout) {
    long ms = timeout.toMillis();
    return Math.max(1, ms - Math.max(10, ms * 3 / 10));
  }

  /**
   * Why a call of {@code tenant}'s would be refused at once now (its circuit is open), or null;
   * changes nothing. The gateway then does not read a body for a script that is not called: a
   * flood of 1 MB bodies to such a tenant was read whole, only to be refused (attack round 9 on
   * the Node engine, N9-2).
   */
  public String refusal(String tenant, long now) {
    CircuitBreaker own = tenantBreakers.get(tenant);
    return own != null && own.refusing(now) ? TENANT_REFUSED.formatted(tenant) : null;
  }

  private static final String TENANT_REFUSED =
      "the scripts of tenant %s ran out of time or hit a limit in the engine 5 times in a row: not called for about 2 s";

  private <T> Future<T> exchange(List<String> urls, Duration deadline, String tenant, String path, Supplier<Buffer> body,
                                 AnswerParser<T> parser) {
    long now = System.nanoTime();
    if (tenantBreakers.size() > 10_000) {
      tenantBreakers.values().removeIf(b -> !b.open()); // renamed tenants over many reloads
    }
    CircuitBreaker own = tenantBreakers.computeIfAbsent(tenant, t -> new CircuitBreaker(5, 2000));
    if (!own.allow(now)) {
      return Future.failedFuture(new EngineUnavailable(TENANT_REFUSED.formatted(tenant)));
    }
    return exchange(urls, deadline, own, tenant, path, body, parser, now);
  }

  private <T> Future<T> exchange(List<String> urls, Duration deadline, CircuitBreaker own, String tenant, String path,
                                 Supplier<Buffer> body, AnswerParser<T> parser, long now) {
    int n = urls.size();
    int start = (int) Math.floorMod(next++, (long) Math.max(1, n));
    for (int i = 0; i < n; i++) {
      String url = urls.get((start + i) % n);
      CircuitBreaker breaker = breakers.computeIfAbsent(url, u -> new CircuitBreaker(5, 2000));
      if (breaker.allow(now)) {
        int tried = (start + i) % n;
        // An engine that fails fast (refused, closed) costs little: ask the next one once.
        return call(url, breaker, own, deadline, tenant, path, body.get(), parser).recover(t -> {
          if (n > 1 && t instanceof EngineUnavailable u && !u.timedOut()) {
            String other = urls.get((tried + 1) % n);
            CircuitBreaker b = breakers.computeIfAbsent(other, x -> new CircuitBreaker(5, 2000));
            if (b.allow(System.nanoTime())) {
              return call(other, b, own, deadline, tenant, path, body.get(), parser);
            }
          }
          return Future.failedFuture(t);
        });
      }
    }
    own.cancelTrial(); // no call went out: the tenant's trial, if this was one, is still to come
    return Future.failedFuture(new EngineUnavailable("engine" + (n == 1 ? " " + urls.get(0) + " is" : "s " + urls + " are")
        + " failing: circuit open"));
  }

  /**
   * Where an engine address points, parsed once: {@code http://host:port[/base]} or
   * {@code unix:/path/engine.sock} (a supervised engine, or one beside the gateway).
   */
  private record Target(SocketAddress server, String host, int port, String base) {
    static Target parse(String url) {
      if (url.startsWith("unix:")) {
        return new Target(SocketAddress.domainSocketAddress(url.substring(5)), "localhost", 80, "");
      }
      URI u = URI.create(url);
      int port = u.getPort() > 0 ? u.getPort() : 80;
      String base = u.getRawPath() == null ? "" : u.getRawPath().replaceAll("/+$", "");
      return new Target(null, u.getHost(), port, base);
    }
  }

  private <T> Future<T> call(String url, CircuitBreaker breaker, CircuitBreaker own, Duration deadline, String tenant,
                             String path, Buffer body, AnswerParser<T> parser) {
    Target t = targets.computeIfAbsent(url, Target::parse);
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST)
        .setHost(t.host()).setPort(t.port()).setURI(t.base() + path)
        .putHeader("Content-Type", "application/json")
        .setConnectTimeout(deadline.toMillis())
        // Longer than the deadline (the timer below ends the call): an answer that comes late
        // still arrives and shows the engine alive, so a slow engine is not taken for a hung one
        // and its circuit opened for every tenant (round 4, N4-1).
        .setIdleTimeout(deadline.toMillis() + 2_000);
    if (t.server() != null) {
      options.setServer(t.server());
    }
    if (tenant != null && TENANT_HEADER_SAFE.matcher(tenant).matches()) {
      // The engine may refuse a tenant it holds back before reading the request (engine-protocol.md).
      options.putHeader("Keystone-Tenant", tenant);
    }
    Promise<T> result = Promise.promise();
    if (pending.merge(url, 1, Integer::sum) == 1) {
      answered.merge(url, System.nanoTime(), Math::max); // a busy spell starts: no silence before it
    }
    long timer = vertx.setTimer(Math.max(1, deadline.toMillis()), id ->
        result.tryFail(new EngineUnavailable("engine " + url + " did not answer within " + deadline.toMillis() + " ms", true)));
    client.request(options)
        .compose(req -> req.send(body))
        .compose(resp -> resp.body().map(b -> {
          answered.put(url, System.nanoTime());
          EngineActivity.answered(url);
          if (resp.statusCode() >= 400 && resp.statusCode() < 500) {
            // The engine works and refused this call (a body too big, an unknown script): the
            // call's failure, never the engine's (a client must not open the circuit every tenant
            // shares: attack round 3, N3-4).
            return new JsonObject().put("decision", "error").put("limit", false)
                .put("error", "the engine refused the call: HTTP " + resp.statusCode() + ": " + dev.keystone.script.LogText.of(b.toString(), 500));
          }
          if (resp.statusCode() != 200) {
            throw new IllegalStateException("engine answered HTTP " + resp.statusCode() + ": " + dev.keystone.script.LogText.of(b.toString(), 500));
          }
          return b.toJsonObject();
        }))
        .onComplete(ar -> {
          pending.merge(url, -1, Integer::sum);
          vertx.cancelTimer(timer);
          if (ar.failed()) {
            Throwable c = ar.cause();
            String why = c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName(); // "null" said nothing (attack round 7, N7-4)
            result.tryFail(new EngineUnavailable("engine " + url + ": " + why, isTimeout(c)));
            return;
          }
          try {
            result.tryComplete(parser.parse(ar.result()));
          } catch (EngineProtocol.ScriptError e) {
            result.tryFail(e); // the engine works; the script failed
          }
        });
    // Every outcome settles both circuits (a trial call each may have let through must end, or
    // that circuit stays open for good): success, failure, or no verdict (cancelTrial).
    return result.future().onComplete(ar -> {
      long at = System.nanoTime();
      if (ar.succeeded()) {
        breaker.success();
        own.success();
      } else if (ar.cause() instanceof EngineProtocol.ScriptError e) {
        breaker.success(); // the engine works
        if (e.limit()) {
          own.failure(at);
        } else {
          own.success();
        }
      } else if (ar.cause() instanceof EngineUnavailable u && u.timedOut()) {
        // No verdict on the tenant: its call may have waited behind another tenant's (attack
        // round 3, N3-2: five such waits in a row opened the victim's circuit). Against the engine
        // only when it has answered nothing at all for a while: a hung engine, not a busy one.
        own.cancelTrial();
        Long last = answered.get(url);
        if (last == null || at - last >= Math.max(SILENCE_NANOS, 4 * deadline.toNanos())) {
          breaker.failure(at);
        } else {
          breaker.cancelTrial();
        }
      } else {
        breaker.failure(at);
        own.cancelTrial();
      }
    });
  }

  private static boolean isTimeout(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.util.concurrent.TimeoutException || c instanceof io.netty.channel.ConnectTimeoutException) {
        return true;
      }
    }
    return false;
  }

  public Future<Void> close() {
    return client.close();
  }
}
