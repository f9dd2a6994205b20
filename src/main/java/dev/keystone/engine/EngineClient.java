package dev.keystone.engine;

import dev.keystone.script.Decision;
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

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The gateway's side of a remote script engine, one per event loop: pooled keep-alive
 * connections, a deadline per call (a hung engine costs at most that), and a circuit breaker per
 * engine address. Every failure (engine down, slow, broken answer, script error) fails the
 * returned future, and the caller applies the tenant's on_script_error policy.
 */
public final class EngineClient {

  /** The engine could not give a decision: unreachable, too slow, circuit open or a bad answer. */
  public static final class EngineUnavailable extends Exception {
    public EngineUnavailable(String message) {
      super(message, null, false, false);
    }
  }

  private final Vertx vertx;
  private final HttpClient client;
  private final Map<String, CircuitBreaker> breakers = new HashMap<>();

  public EngineClient(Vertx vertx) {
    this.vertx = vertx;
    this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(64));
  }

  /** Asks the engine at {@code url} what {@code script} decides for {@code r}, within {@code deadline}. */
  public Future<Decision> decide(String url, Duration deadline, String script, ScriptRequest r) {
    CircuitBreaker breaker = breakers.computeIfAbsent(url, u -> new CircuitBreaker(5, 2000));
    long now = System.nanoTime();
    if (!breaker.allow(now)) {
      return Future.failedFuture(new EngineUnavailable("engine " + url + " is failing: circuit open"));
    }
    URI u = URI.create(url);
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST)
        .setHost(u.getHost()).setPort(u.getPort() > 0 ? u.getPort() : 80)
        .setURI((u.getRawPath() == null ? "" : u.getRawPath().replaceAll("/+$", "")) + "/v1/decide")
        .putHeader("Content-Type", "application/json")
        .setConnectTimeout(deadline.toMillis())
        .setIdleTimeout(deadline.toMillis());
    Buffer body = EngineProtocol.requestJson(r, script).toBuffer();
    Promise<Decision> result = Promise.promise();
    long timer = vertx.setTimer(Math.max(1, deadline.toMillis()), id ->
        result.tryFail(new EngineUnavailable("engine " + url + " did not answer within " + deadline.toMillis() + " ms")));
    client.request(options)
        .compose(req -> req.send(body))
        .compose(resp -> resp.body().map(b -> {
          if (resp.statusCode() != 200) {
            throw new IllegalStateException("engine answered HTTP " + resp.statusCode() + ": " + b);
          }
          return b.toJsonObject();
        }))
        .onComplete(ar -> {
          vertx.cancelTimer(timer);
          if (ar.failed()) {
            result.tryFail(new EngineUnavailable("engine " + url + ": " + ar.cause().getMessage()));
            return;
          }
          try {
            result.tryComplete(EngineProtocol.decision(ar.result(), r.backends()));
          } catch (EngineProtocol.ScriptError e) {
            result.tryFail(e); // the engine works; the script failed
          }
        });
    return result.future().onComplete(ar -> {
      if (ar.succeeded() || ar.cause() instanceof EngineProtocol.ScriptError) {
        breaker.success();
      } else {
        breaker.failure(System.nanoTime());
      }
    });
  }

  public Future<Void> close() {
    return client.close();
  }
}
