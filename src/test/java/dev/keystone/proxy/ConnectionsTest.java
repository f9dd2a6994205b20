package dev.keystone.proxy;

import dev.keystone.testing.Await;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.WebSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;

/** Connection handling: upstream keep-alive, request targets, long-lived tunnels, the access log. */
class ConnectionsTest {

  Vertx vertx;
  TestBackend backend;
  AtomicInteger upstreamConnections = new AtomicInteger();
  int wsPort;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "c");
    HttpServer counting = vertx.createHttpServer()
        .connectionHandler(c -> upstreamConnections.incrementAndGet())
        .requestHandler(req -> req.response().end("counted"))
        .webSocketHandler(ws -> ws.handler(buf -> ws.writeTextMessage("echo:" + buf)))
        .listen(0, "127.0.0.1").await();
    wsPort = counting.actualPort();
    gw = TestGateway.start("""
        timeouts: { idle: 400ms, header_read: 400ms }
        tenants:
          - name: c
            path_prefix: /c/
            services: [{ name: c, url: "%1$s", health: /health }]
          - name: shop
            domains: [shop.example.com]
            health_interval: 1h
            services: [{ name: n, url: "http://127.0.0.1:%2$d", health: /health }]
          - name: counted
            path_prefix: /counted/
            health_interval: 1h
            services: [{ name: n, url: "http://127.0.0.1:%2$d", health: /health }]
        """.formatted(backend.url(), wsPort));
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  @Test
  void upstreamConnectionsAreKeptAliveAndReused() {
    Await.until("the one health check connection", () -> upstreamConnections.get() == 1);
    for (int i = 0; i < 100; i++) {
      assertThat(gw.get("/counted/r" + i).body()).isEqualTo("counted");
    }
    // sequential requests: at most one pooled connection per event loop (2), plus the health check
    assertThat(upstreamConnections.get()).isLessThanOrEqualTo(3);
  }

  @Test
  void absoluteFormRequestTargetsAreForwardedAsPaths() {
    try (RawHttp raw = gw.raw()) {
      String resp = raw.write("GET http://example.org/c/abs?q=1 HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n")
          .readUntilClose();
      assertThat(RawHttp.status(resp)).isEqualTo(200);
    }
    assertThat(backend.last().uri()).isEqualTo("/abs?q=1");
  }

  @Test
  void anAbsoluteFormTargetsAuthorityWinsOverTheHostHeader() {
    try (RawHttp raw = gw.raw()) {
      String resp = raw.write("GET http://Shop.Example.com:8080/p HTTP/1.1\r\nHost: other.example.org\r\nConnection: close\r\n\r\n")
          .readUntilClose();
      assertThat(RawHttp.status(resp)).isEqualTo(200);
      assertThat(resp).endsWith("counted");
    }
  }

  @Test
  void aBusyWebSocketOutlivesTheIdleAndHeaderTimeouts() throws Exception {
    WebSocket ws = gw.webSocket(vertx, "/counted/ws");
    ConcurrentLinkedQueue<String> replies = new ConcurrentLinkedQueue<>();
    ws.textMessageHandler(replies::add);
    // keep talking for three times the timeouts; every message must still be echoed
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1200);
    int sent = 0;
    while (System.nanoTime() < until) {
      String m = "m" + sent++;
      ws.writeTextMessage(m);
      Await.until("echo of " + m, () -> replies.contains("echo:" + m));
      TimeUnit.MILLISECONDS.sleep(100);
    }
    assertThat(ws.isClosed()).isFalse();
  }

  @Test
  void oneAccessLogLinePerRequest() {
    ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord r) {
        lines.add(r.getMessage());
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    Logger access = Logger.getLogger("keystone.access");
    access.addHandler(capture);
    try {
      gw.get("/c/logged?secret=1", "X-Request-ID", "log-me");
      gw.get("/missing", "X-Request-ID", "log-404");
      Await.until("two lines", () -> lines.size() >= 2);
      assertThat(lines).filteredOn(l -> l.contains("request_id=log-me")).singleElement().satisfies(l ->
          assertThat(l).contains("tenant=c", "method=GET", "path=/c/logged", "status=200", "bytes=", "duration_ms=",
              "backend=c").doesNotContain("secret"));
      assertThat(lines).filteredOn(l -> l.contains("request_id=log-404")).singleElement().satisfies(l ->
          assertThat(l).contains("tenant=-", "status=404", "backend=-"));
    } finally {
      access.removeHandler(capture);
    }
  }
}
