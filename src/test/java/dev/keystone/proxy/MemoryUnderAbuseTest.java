package dev.keystone.proxy;

import dev.keystone.testing.GatewayProcess;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Clients that send and never read, against a gateway process with a small heap and little
 * direct memory: the gateway holds a bounded amount per connection, so it neither runs out of
 * memory nor stops answering everyone else.
 */
class MemoryUnderAbuseTest {

  static Vertx vertx;
  static HttpServer backend;
  static final AtomicBoolean stop = new AtomicBoolean();

  @BeforeAll
  static void startBackend() {
    vertx = Vertx.vertx();
    backend = vertx.createHttpServer().requestHandler(req -> {
      if (req.path().equals("/big")) {
        HttpServerResponse resp = req.response().putHeader("Content-Length", Long.toString(50L << 20));
        write(resp, new long[] {50L << 20});
      } else {
        req.response().end("echo " + req.path() + " " + req.headers().size());
      }
    }).listen(0, "127.0.0.1").await();
  }

  static void write(HttpServerResponse resp, long[] left) {
    Buffer mb = Buffer.buffer(new byte[64 * 1024]);
    while (left[0] > 0 && !stop.get()) {
      if (resp.writeQueueFull()) {
        resp.drainHandler(v -> write(resp, left));
        return;
      }
      left[0] -= mb.length();
      resp.write(mb);
    }
    resp.end();
  }

  @AfterAll
  static void stopBackend() {
    stop.set(true);
    vertx.close();
  }

  static GatewayProcess gateway(Path dir) throws Exception {
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, """
        listen: 127.0.0.1:0
        admin: { listen: 127.0.0.1:0, token: memory-test-token-0123456 }
        timeouts: { idle: 30s }
        tenants:
          - name: t
            path_prefix: /t/
            services: [{ name: b, url: "http://127.0.0.1:%d" }]
        """.formatted(backend.actualPort()));
    // The shipped settings (bin/jvm.options) with a smaller heap and direct memory.
    return GatewayProcess.start(dir, List.of("-Xmx48m", "-XX:MaxDirectMemorySize=24m", "-XX:+ExitOnOutOfMemoryError",
        "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Dio.netty.tryReflectionSetAccessible=true"), "--config", config.toString());
  }

  /** Non-reading clients: each opens a socket with a tiny receive buffer, sends, and reads nothing. */
  static List<Socket> nonReaders(int port, int count, byte[] request, int repeats) throws Exception {
    List<Socket> sockets = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Socket s = new Socket();
      s.setReceiveBufferSize(4096);
      s.connect(new java.net.InetSocketAddress("127.0.0.1", port));
      sockets.add(s);
      Thread t = new Thread(() -> {
        try {
          OutputStream out = s.getOutputStream();
          for (int r = 0; r < repeats && !stop.get(); r++) {
            out.write(request);
          }
        } catch (Exception e) {
          // blocked, then closed at the end: expected
        }
      });
      t.setDaemon(true);
      t.start();
    }
    return sockets;
  }

  static void othersAreServed(int port, GatewayProcess gw) throws Exception {
    othersAreServed(port, gw, Duration.ofSeconds(10));
  }

  /** A well-behaved client gets its 200 within {@code wait} (a liveness bound, not a speed claim). */
  static void othersAreServed(int port, GatewayProcess gw, Duration wait) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(wait).build();
    HttpResponse<String> r;
    try {
      r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/t/other"))
          .timeout(wait).build(), HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      Files.writeString(Path.of("target/memory-under-abuse-gateway.log"), gw.output());
      throw new AssertionError("no answer to a well-behaved client (gateway log: target/memory-under-abuse-gateway.log)", e);
    }
    if (r.statusCode() != 200) { // the answer's body (reason, request id) first: CI cuts long messages
      java.util.regex.Matcher id = java.util.regex.Pattern.compile("request id ([0-9a-f]+)").matcher(r.body());
      String line = "";
      if (id.find()) { // its access-log line says why (error="..."); written off the event loop
        String wanted = "request_id=" + id.group(1);
        try {
          dev.keystone.testing.Await.until("the failed request's access-log line", Duration.ofSeconds(5),
              () -> gw.output().contains(wanted));
        } catch (AssertionError notLogged) {
          // reported below as missing: the status and body above are the failure
        }
        line = gw.output().lines().filter(l -> l.contains(wanted)).findFirst().orElse("(no access-log line for it)");
      }
      String log = gw.output();
      Files.writeString(Path.of("target/memory-under-abuse-gateway.log"), log);
      throw new AssertionError("a well-behaved client got " + r.statusCode() + ": " + r.body() + "\n" + line
          + "\ngateway log (whole: target/memory-under-abuse-gateway.log), its end:\n" + log.substring(Math.max(0, log.length() - 6000)));
    }
    HttpResponse<String> live = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.adminPort() + "/livez"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(live.statusCode()).isEqualTo(200);
  }

  @Test
  void pipeliningClientsThatNeverReadCannotExhaustTheHeap(@TempDir Path dir) throws Exception {
    try (GatewayProcess gw = gateway(dir)) {
      int port = gw.awaitListening();
      StringBuilder one = new StringBuilder("GET /t/p HTTP/1.1\r\nHost: x\r\n");
      for (int h = 0; h < 20; h++) {
        one.append("X-H").append(h).append(": some value ").append(h).append("\r\n");
      }
      byte[] batch = (one + "\r\n").repeat(500).getBytes(StandardCharsets.ISO_8859_1);
      List<Socket> sockets = nonReaders(port, 20, batch, 400); // up to 20 x 170 MB
      try {
        long until = System.nanoTime() + Duration.ofSeconds(8).toNanos();
        while (System.nanoTime() < until) {
          assertThat(gw.output()).doesNotContain("OutOfMemoryError");
          othersAreServed(port, gw);
        }
      } finally {
        for (Socket s : sockets) {
          s.close();
        }
      }
      assertThat(gw.output()).doesNotContain("OutOfMemoryError");
      othersAreServed(port, gw);
    }
  }

  @Test
  void clientsThatNeverReadBigResponsesCannotExhaustDirectMemory(@TempDir Path dir) throws Exception {
    try (GatewayProcess gw = gateway(dir)) {
      int port = gw.awaitListening();
      byte[] big = "GET /t/big HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
      List<Socket> sockets = nonReaders(port, 600, big, 1);
      try {
        // This first request arrives with the 600 and waits its turn behind them, while the
        // machine is saturated relaying what the kernel's socket buffers take (about 1 GB on
        // loopback, through two leak-tracking JVMs): 6-10 s on two busy cores, so a 10 s bound
        // failed now and then in CI. What it must get is its answer, not the flood's cut.
        othersAreServed(port, gw, Duration.ofSeconds(60));
        long until = System.nanoTime() + Duration.ofSeconds(8).toNanos();
        while (System.nanoTime() < until) {
          othersAreServed(port, gw);
        }
        assertThat(gw.output()).doesNotContain("OutOfMemoryError").doesNotContain("Cannot reserve");
      } finally {
        for (Socket s : sockets) {
          s.close();
        }
      }
      othersAreServed(port, gw);
    }
  }
}
