package dev.keystone.upstream;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Active health checks of many backends: after the first round (at once, as backends are
 * unhealthy until checked) they spread over the interval instead of all firing in the same
 * instant every time, and they go over kept-alive connections instead of a new one per check.
 */
class HealthCheckSpreadTest {

  Vertx vertx = Vertx.vertx();
  TestGateway gw;

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  @Test
  void checksAreSpreadAndReuseConnections() {
    int targets = 30;
    AtomicInteger connections = new AtomicInteger();
    Map<String, List<Long>> arrivals = new ConcurrentHashMap<>();
    HttpServer server = vertx.createHttpServer()
        .connectionHandler(c -> connections.incrementAndGet())
        .requestHandler(req -> {
          arrivals.computeIfAbsent(req.path(), k -> new CopyOnWriteArrayList<>()).add(System.nanoTime());
          req.response().end("ok");
        })
        .listen(0, "127.0.0.1").await();
    StringBuilder services = new StringBuilder();
    for (int i = 0; i < targets; i++) {
      services.append("      - { name: s").append(i).append(", url: \"http://127.0.0.1:").append(server.actualPort())
          .append("\", health: /h").append(i).append(" }\n");
    }
    gw = TestGateway.start("""
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1s
            services:
        """ + services);
    Await.until("three rounds of checks", () -> arrivals.size() == targets
        && arrivals.values().stream().allMatch(l -> l.size() >= 3));
    long firstOfSecond = arrivals.values().stream().mapToLong(l -> l.get(1)).min().orElseThrow();
    long lastOfSecond = arrivals.values().stream().mapToLong(l -> l.get(1)).max().orElseThrow();
    // Thirty random points in a one-second window span less than 300 ms with a chance below 1e-13.
    assertThat((lastOfSecond - firstOfSecond) / 1_000_000).as("the second round spreads over the interval (ms)")
        .isGreaterThanOrEqualTo(300);
    long checks = arrivals.values().stream().mapToLong(List::size).sum();
    assertThat(connections.get()).as("%d checks over kept-alive connections", checks).isLessThan((int) checks / 2);
  }

  @Test
  void aHealthAnswerWithAHugeBodyIsDecidedByItsStatusAndNotRead() {
    java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
    io.vertx.core.buffer.Buffer mb = io.vertx.core.buffer.Buffer.buffer(new byte[1024 * 1024]);
    HttpServer server = vertx.createHttpServer().requestHandler(req -> {
      var resp = req.response().putHeader("Content-Length", Long.toString(1L << 30));
      resp.closeHandler(v -> gone.set(true));
      Runnable[] pump = new Runnable[1];
      pump[0] = () -> {
        while (!gone.get() && !resp.writeQueueFull() && written.get() < (1L << 30)) {
          resp.write(mb);
          written.addAndGet(mb.length());
        }
        if (!gone.get()) {
          resp.drainHandler(v -> pump[0].run());
        }
      };
      pump[0].run();
    }).listen(0, "127.0.0.1").await();
    gw = TestGateway.start("""
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services: [{ name: s, url: "http://127.0.0.1:%d", health: /health }]
        """.formatted(server.actualPort()));
    var h = gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health();
    Await.until("checked", () -> h.lastCheck() != null);
    assertThat(h.healthy()).as(h.lastReason()).isTrue();
    Await.until("the check dropped the connection", gone::get);
    assertThat(written.get()).as("bytes the backend could send before the check let go").isLessThan(64L << 20);
  }
}
