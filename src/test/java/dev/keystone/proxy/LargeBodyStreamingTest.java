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

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A 1 GiB upload and a 1 GiB download through a gateway process whose heap is capped at 48 MiB:
 * if any part of the path buffered a body whole, the process would run out of memory. The bytes
 * are checked end to end with a CRC32C.
 */
class LargeBodyStreamingTest {

  static final long SIZE = 1L << 30;
  static final int CHUNK = 64 * 1024;
  static Vertx vertx;
  static HttpServer backend;

  /** Deterministic content: chunk i is filled with a pattern derived from i. */
  static byte[] chunk(long index) {
    byte[] b = new byte[CHUNK];
    for (int i = 0; i < CHUNK; i++) {
      b[i] = (byte) (index * 31 + i * 7);
    }
    return b;
  }

  @BeforeAll
  static void startBackend() {
    vertx = Vertx.vertx();
    backend = vertx.createHttpServer().requestHandler(req -> {
      if (req.path().equals("/upload")) {
        CRC32C crc = new CRC32C();
        long[] n = {0};
        req.handler(buf -> {
          crc.update(buf.getBytes());
          n[0] += buf.length();
        });
        req.endHandler(v -> req.response().end(n[0] + " " + Long.toHexString(crc.getValue())));
      } else if (req.path().equals("/download")) {
        HttpServerResponse resp = req.response().putHeader("Content-Length", Long.toString(SIZE));
        writeChunks(resp, new long[] {0});
      } else {
        req.response().end("ok");
      }
    }).listen(0, "127.0.0.1").await();
  }

  /** Writes chunks while the response accepts them, resuming on drain: backpressure, no buffering. */
  static void writeChunks(HttpServerResponse resp, long[] next) {
    while (next[0] * CHUNK < SIZE) {
      if (resp.writeQueueFull()) {
        resp.drainHandler(v -> writeChunks(resp, next));
        return;
      }
      resp.write(Buffer.buffer(chunk(next[0]++)));
    }
    resp.end();
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  static long expectedCrc() {
    CRC32C crc = new CRC32C();
    for (long i = 0; i * CHUNK < SIZE; i++) {
      crc.update(chunk(i));
    }
    return crc.getValue();
  }

  /** A gateway process with a capped heap that exits on running out of it, routing {@code prefix}. */
  static GatewayProcess gatewayWithHeap(Path dir, String heap, String prefix) throws java.io.IOException {
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, """
        listen: 127.0.0.1:0
        admin: { listen: 127.0.0.1:0, token: large-body-test-token-0123 }
        tenants:
          - name: t
            path_prefix: %s
            services: [{ name: b, url: "http://127.0.0.1:%d" }]
        """.formatted(prefix, backend.actualPort()));
    return GatewayProcess.start(dir, List.of("-Xmx" + heap, "-XX:+ExitOnOutOfMemoryError"), "--config", config.toString());
  }

  /** The gateway's direct (network) buffer memory, from its /metrics. */
  static long directBytes(GatewayProcess gw) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + gw.adminPort() + "/metrics"))
        .header("Authorization", "Bearer large-body-test-token-0123").build(), HttpResponse.BodyHandlers.ofString());
    return r.body().lines().filter(l -> l.startsWith("keystone_direct_memory_used_bytes "))
        .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElseThrow();
  }

  /**
   * 40,000 requests through a 32 MiB heap: anything kept per request after it ends (a timer, a
   * listener) would add up to more than the heap and end the process. Netty's leak detector
   * runs in the process too, and its direct buffer memory must level off after a warm-up: 36,000
   * more requests may not add more than a pool chunk or two.
   */
  @Test
  void manySmallRequestsLeaveNothingBehind(@TempDir Path dir) throws Exception {
    try (GatewayProcess gw = gatewayWithHeap(dir, "32m", "/s/")) {
      int port = gw.awaitListening();
      io.vertx.core.http.HttpClient client = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
          .setDefaultHost("127.0.0.1").setDefaultPort(port), new io.vertx.core.http.PoolOptions().setHttp1MaxSize(16));
      java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
      int total = 40_000;
      int warmUp = 4_000;
      long[] directAfterWarmUp = {-1};
      java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(total);
      java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(64);
      for (int i = 0; i < total; i++) {
        if (i == warmUp) {
          window.acquire(64); // the warm-up has ended: measure with nothing in flight
          directAfterWarmUp[0] = directBytes(gw);
          window.release(64);
        }
        window.acquire();
        client.request(io.vertx.core.http.HttpMethod.GET, "/s/x" + i)
            .compose(req -> req.send().compose(resp -> resp.body().map(b -> resp.statusCode())))
            .onComplete(ar -> {
              if (ar.succeeded() && ar.result() == 200) {
                ok.incrementAndGet();
              }
              window.release();
              done.countDown();
            });
      }
      assertThat(done.await(3, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
      client.close();
      assertThat(ok.get()).as(gw.output().lines().filter(l -> !l.contains(" access ")).toList().toString()).isEqualTo(total);
      assertThat(gw.output()).doesNotContain("OutOfMemoryError");
      long directAtEnd = directBytes(gw);
      java.util.logging.Logger.getLogger("test").info("direct buffer memory after " + warmUp + " requests: "
          + directAfterWarmUp[0] + " bytes, after " + total + ": " + directAtEnd);
      assertThat(directAtEnd).as("direct memory levels off").isLessThanOrEqualTo(directAfterWarmUp[0] + 8L * 1024 * 1024);
      assertThat(gw.leakReports()).isEmpty();
    }
  }

  @Test
  void oneGibibyteEachWayWithASmallHeap(@TempDir Path dir) throws Exception {
    try (GatewayProcess gw = gatewayWithHeap(dir, "48m", "/big/")) {
      int port = gw.awaitListening();
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      long expected = expectedCrc();

      Supplier<InputStream> body = () -> new InputStream() {
        long index;
        byte[] current = new byte[0];
        int pos;

        @Override
        public int read() {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
          if (pos == current.length) {
            if (index * CHUNK >= SIZE) {
              return -1;
            }
            current = chunk(index++);
            pos = 0;
          }
          int n = Math.min(len, current.length - pos);
          System.arraycopy(current, pos, b, off, n);
          pos += n;
          return n;
        }
      };
      HttpResponse<String> up = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/big/upload"))
              .timeout(Duration.ofMinutes(5))
              .POST(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(body), SIZE)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(up.statusCode()).as(gw.output()).isEqualTo(200);
      assertThat(up.body()).isEqualTo(SIZE + " " + Long.toHexString(expected));

      HttpResponse<InputStream> down = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/big/download"))
          .timeout(Duration.ofMinutes(5)).build(), HttpResponse.BodyHandlers.ofInputStream());
      assertThat(down.statusCode()).isEqualTo(200);
      CRC32C crc = new CRC32C();
      long total = 0;
      try (InputStream in = down.body()) {
        byte[] buf = new byte[CHUNK];
        int n;
        while ((n = in.read(buf)) >= 0) {
          crc.update(buf, 0, n);
          total += n;
        }
      }
      assertThat(total).isEqualTo(SIZE);
      assertThat(crc.getValue()).isEqualTo(expected);
      assertThat(gw.output()).doesNotContain("OutOfMemoryError");
      assertThat(gw.leakReports()).isEmpty();
      java.util.logging.Logger.getLogger("test").info("1 GiB up and down through a 48 MiB-heap gateway: peak RSS "
          + gw.peakRssKib() / 1024 + " MiB");
    }
  }
}
