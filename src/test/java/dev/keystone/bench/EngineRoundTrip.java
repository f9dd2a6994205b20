package dev.keystone.bench;

import dev.keystone.config.ServiceConfig;
import dev.keystone.engine.EngineClient;
import dev.keystone.script.KeyValueStore;
import dev.keystone.script.ScriptRequest;
import dev.keystone.model.Backend;
import dev.keystone.model.BackendHealth;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The cost of one remote decision alone, for {@code bench/engine-rtt}: the gateway's own
 * {@link EngineClient} (pooled connections, deadline timer, breaker, the request encoding and
 * answer parsing) calling an engine process, one call at a time (after each answer, the next),
 * paced so that the machine is mostly idle ({@code PACE_MICROS} 0: back to back). Prints p50/p90/p99/p99.9 in microseconds.
 *
 * <p>Usage: {@code EngineRoundTrip ENGINE_URL SCRIPT CALLS PACE_MICROS}
 */
public final class EngineRoundTrip {

  private EngineRoundTrip() {
  }

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String script = args[1];
    int calls = Integer.parseInt(args[2]);
    long paceMicros = Long.parseLong(args[3]);
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true));
    BackendHealth up = new BackendHealth();
    up.record(true, "bench", Instant.EPOCH);
    List<Backend> backends = List.of(
        new ServiceConfig("stable", "http://127.0.0.1:1", "/", 1, Map.of("version", "stable")).backend(up),
        new ServiceConfig("canary-42", "http://127.0.0.1:2", "/", 1, Map.of("version", "canary")).backend(up));
    ScriptRequest request = new ScriptRequest("GET", "/bench", "/scripted/bench", null, "localhost", "127.0.0.1",
        "bench", "rtt", List.of(Map.entry("Host", "localhost"), Map.entry("User-Agent", "rtt")), backends,
        new KeyValueStore(KeyValueStore.Limits.DEFAULT, java.time.Clock.systemUTC()));
    long[] nanos = new long[calls];
    Promise<Void> done = Promise.promise();
    vertx.runOnContext(v -> {
      EngineClient client = new EngineClient(vertx);
      next(vertx, client, url, script, request, nanos, 0, paceMicros, done);
    });
    done.future().toCompletionStage().toCompletableFuture().get();
    int warm = calls / 5; // the first fifth warms the JIT and the pool: not counted
    long[] measured = Arrays.copyOfRange(nanos, warm, calls);
    Arrays.sort(measured);
    System.out.printf("%s calls=%d p50=%d p90=%d p99=%d p99.9=%d max=%d (us)%n", url, measured.length,
        pct(measured, 50), pct(measured, 90), pct(measured, 99), pct(measured, 99.9), measured[measured.length - 1] / 1000);
    vertx.close();
  }

  private static long pct(long[] sorted, double p) {
    return sorted[(int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] / 1000;
  }

  private static void next(Vertx vertx, EngineClient client, String url, String script, ScriptRequest r, long[] nanos,
                           int i, long paceMicros, Promise<Void> done) {
    if (i == nanos.length) {
      done.complete();
      return;
    }
    long start = System.nanoTime();
    Future<?> call = client.decide(List.of(url), Duration.ofSeconds(1), script, r);
    call.onComplete(ar -> {
      nanos[i] = System.nanoTime() - start;
      if (ar.failed()) {
        done.tryFail(ar.cause());
        return;
      }
      if (paceMicros == 0) { // back to back: both sides stay awake
        vertx.runOnContext(x -> next(vertx, client, url, script, r, nanos, i + 1, paceMicros, done));
      } else {
        vertx.setTimer(Math.max(1, paceMicros / 1000), id -> next(vertx, client, url, script, r, nanos, i + 1, paceMicros, done));
      }
    });
  }
}
