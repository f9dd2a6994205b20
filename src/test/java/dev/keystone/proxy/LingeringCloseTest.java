package dev.keystone.proxy;

import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The close after an answer that ends its connection lingers: the gateway stops writing, reads
 * and drops what the client still sends, and closes once the client has been quiet for
 * {@link ClientChannel#LINGER_MS} (or after {@link ClientChannel#LINGER_MAX_MS} in all). A client
 * that is still sending has not read its answer yet; closing under it makes the kernel answer its
 * next bytes with a reset, which throws away the answer waiting in the client's buffers.
 */
class LingeringCloseTest {

  static final int SIZE = 4 << 20;
  Vertx vertx;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    byte[] body = new byte[SIZE];
    Arrays.fill(body, (byte) 'b');
    Buffer answer = Buffer.buffer(body);
    HttpServer big = vertx.createHttpServer().requestHandler(r -> r.response().end(answer)).listen(0, "127.0.0.1").await();
    gw = TestGateway.start("""
        tenants:
          - name: big
            path_prefix: /
            health_interval: 1h
            services: [{ name: b, url: "http://127.0.0.1:%d" }]
        """.formatted(big.actualPort()));
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  @Test
  void aClientStillSendingPastTheLingerGetsItsWholeAnswer() throws Exception {
    // Attack s15 F1: the linger ended 5 s after the close whatever the client did; a client that
    // kept sending (pipelined requests) and read only after that got ~120 KB of 4 MB and a reset.
    try (RawHttp raw = new RawHttp("127.0.0.1", gw.port())) {
      raw.write("GET /big HTTP/1.1\r\nHost: big\r\nConnection: close\r\n\r\n");
      long until = System.nanoTime() + (ClientChannel.LINGER_MS + 2_000) * 1_000_000L;
      while (System.nanoTime() < until) {
        raw.write("GET /more HTTP/1.1\r\nHost: big\r\n\r\n"); // sent, never read: the answer above is not either
        Thread.sleep(500);
      }
      String all = raw.timeout(30_000).readUntilClose();
      assertThat(all).startsWith("HTTP/1.1 200 ");
      int head = all.indexOf("\r\n\r\n") + 4;
      assertThat(all.length() - head).isEqualTo(SIZE);
    }
  }
}
