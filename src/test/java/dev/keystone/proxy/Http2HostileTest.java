package dev.keystone.proxy;

import dev.keystone.testing.H2Wire;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestCertificates;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A hostile HTTP/2 client: a header block beyond the limit, a rapid-reset flood, a CONTINUATION
 * run without end, more streams than allowed. Each is refused at the least cost (the stream, or
 * the connection for a flood), and other clients are served meanwhile.
 */
class Http2HostileTest {

  @TempDir
  static Path dir;
  static TestCertificates ca;
  static TestCertificates.Issued cert;
  static Vertx vertx;
  static TestBackend backend;
  TestGateway gw;

  @BeforeAll
  static void certificatesAndBackend() {
    ca = TestCertificates.in(dir);
    cert = ca.issue("app", "app.test");
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "A");
  }

  @AfterAll
  static void stop() {
    backend.close();
    vertx.close();
  }

  @BeforeEach
  void start() {
    gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        limits: { max_header_size: 8KiB }
        tenants:
          - name: app
            domains: [app.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
        """.formatted(cert.cert(), cert.key(), backend.url()));
  }

  @AfterEach
  void stopGateway() {
    gw.close();
  }

  private H2Wire connect() throws Exception {
    return new H2Wire(ca.clientContext(), gw.gateway().tlsPort(), "app.test");
  }

  /** Another client, on a connection of its own, is answered. */
  private void othersAreServed() throws Exception {
    try (H2Wire other = connect()) {
      other.headers(1, H2Wire.request("GET", "/other", "app.test"), true);
      assertThat(other.status(1)).isEqualTo(200);
    }
  }

  @Test
  void aConnectionErrorsGoawayReachesAClientThatKeepsSendingWhileItReads() throws Exception {
    // Attack s15 F2: after a connection error the gateway closed the socket as soon as its GOAWAY
    // was handed to the kernel; the next frame the client sent met a closed socket, and the reset
    // it drew threw away what the kernel still held for the client: answer data and the GOAWAY.
    // The close lingers now, as an HTTP/1.1 one does.
    byte[] body = new byte[4 << 20];
    java.util.Arrays.fill(body, (byte) 'b');
    io.vertx.core.buffer.Buffer answer = io.vertx.core.buffer.Buffer.buffer(body);
    io.vertx.core.http.HttpServer big = vertx.createHttpServer().requestHandler(r -> r.response().end(answer))
        .listen(0, "127.0.0.1").await();
    java.util.concurrent.atomic.AtomicBoolean reading = new java.util.concurrent.atomic.AtomicBoolean(true);
    try (TestGateway bigGw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        tenants:
          - name: big
            domains: [app.test]
            tls: { cert: "%s", key: "%s" }
            health_interval: 1h
            services: [{ name: b, url: "http://127.0.0.1:%d" }]
        """.formatted(cert.cert(), cert.key(), big.actualPort()));
         H2Wire h2 = new H2Wire(ca.clientContext(), bigGw.gateway().tlsPort(), "app.test")) {
      h2.frame(H2Wire.WINDOW_UPDATE, 0, 0, int32(1 << 30)); // windows wide open: the whole answer may go
      h2.headers(1, H2Wire.request("GET", "/big", "app.test"), true);
      h2.frame(H2Wire.WINDOW_UPDATE, 0, 1, int32(1 << 30));
      H2Wire.Frame first = h2.next(1);
      assertThat(first.type()).isEqualTo(H2Wire.HEADERS);
      h2.frame(H2Wire.WINDOW_UPDATE, 0, 0, new byte[4]); // an increment of 0 for the connection: PROTOCOL_ERROR
      Thread pinger = new Thread(() -> {
        try {
          while (reading.get()) {
            h2.frame(H2Wire.PING, 0, 0, new byte[8]);
            Thread.sleep(20);
          }
        } catch (Exception closed) {
          // the connection is gone
        }
      });
      pinger.start();
      H2Wire.Frame f;
      while ((f = h2.read()) != null && f.type() != H2Wire.GOAWAY) {
        // the answer's data, PING acknowledgements
      }
      reading.set(false);
      pinger.join();
      assertThat(f).as("the GOAWAY arrives").isNotNull();
      assertThat(f.errorCode()).isEqualTo(1); // PROTOCOL_ERROR
    } finally {
      reading.set(false);
      big.close();
    }
    othersAreServed();
  }

  private static byte[] int32(int v) {
    return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
  }

  @Test
  void aHeaderBlockBeyondTheLimitIsAnswered431OnItsStream() throws Exception {
    try (H2Wire h2 = connect()) {
      try (dev.keystone.testing.LogCapture log = dev.keystone.testing.LogCapture.accessLog()) {
        h2.headers(1, H2Wire.request("GET", "/big", "app.test", "x-big", "b".repeat(9 * 1024)), true);
        H2Wire.Frame head = h2.next(1);
        var headers = h2.decode(head);
        assertThat(headers.status().toString()).isEqualTo("431");
        // attack s14-4: Netty's bare 431 had no request id and left no log line
        assertThat(head.has(H2Wire.END_STREAM)).isTrue();
        String id = headers.get("x-request-id").toString();
        assertThat(log.awaitOne("status=431")).contains("request_id=" + id)
            .contains("error=\"HTTP/2 header list above max_header_size\"");
      }
      h2.headers(3, H2Wire.request("GET", "/small", "app.test"), true);
      assertThat(h2.status(3)).isEqualTo(200);
    }
    assertThat(backend.last().uri()).isEqualTo("/small");
  }

  @Test
  void aRapidResetFloodLosesItsConnectionAndOthersAreServed() throws Exception {
    int before = backend.requests();
    try (H2Wire h2 = connect()) {
      int stream = 1;
      // CVE-2023-44487: open a stream and cancel it at once, again and again.
      for (int i = 0; i < 1000; i++, stream += 2) {
        try {
          h2.headers(stream, H2Wire.request("GET", "/reset/" + i, "app.test"), true);
          h2.rst(stream, 8);
        } catch (java.io.IOException closed) {
          break;
        }
      }
      H2Wire.Frame goaway = h2.untilClosed();
      assertThat(goaway).as("a GOAWAY before the close").isNotNull();
      assertThat(goaway.errorCode()).as("ENHANCE_YOUR_CALM").isEqualTo(0xb);
    }
    assertThat(backend.requests() - before).as("requests the flood made").isLessThanOrEqualTo(201);
    othersAreServed();
  }

  @Test
  void resetsTheClientMakesTheGatewaySendLoseTheConnectionToo() throws Exception {
    // CVE-2025-55163 (MadeYouReset): a request, then a frame that is a stream error (here a
    // WINDOW_UPDATE of 0), so the gateway resets the stream itself, again and again. Attack s14-1:
    // the streams' channels closed with CANCEL, which the reset limit does not count.
    backend.handler(req -> { }); // never answers: each request holds a backend connection until reset
    int before = backend.requests();
    try (H2Wire h2 = connect()) {
      int stream = 1;
      try {
        for (int i = 0; i < 600; i++, stream += 2) {
          h2.headers(stream, H2Wire.request("GET", "/hang/" + i, "app.test"), true);
          h2.frame(H2Wire.WINDOW_UPDATE, 0, stream, new byte[4]);
        }
      } catch (java.io.IOException closed) {
        // the gateway closed the connection while we were sending: as it should
      }
      H2Wire.Frame goaway = h2.untilClosed();
      assertThat(goaway).as("a GOAWAY before the close").isNotNull();
      assertThat(goaway.errorCode()).as("ENHANCE_YOUR_CALM").isEqualTo(0xb);
    } finally {
      backend.handler(req -> req.body().onSuccess(b -> req.response().end("A " + req.uri())));
    }
    assertThat(backend.requests() - before).as("requests the flood made").isLessThanOrEqualTo(
        200 + Http2Clients.MAX_CONCURRENT_STREAMS);
    othersAreServed();
  }

  @Test
  void aContinuationRunWithoutEndLosesItsConnection() throws Exception {
    try (H2Wire h2 = connect(); dev.keystone.testing.LogCapture netty = dev.keystone.testing.LogCapture.of("io.netty")) {
      byte[] head = h2.encode(H2Wire.request("GET", "/c", "app.test"));
      h2.frame(H2Wire.HEADERS, H2Wire.END_STREAM, 1, head); // no END_HEADERS: CONTINUATION frames follow
      byte[] filler = h2.encode(new io.netty.handler.codec.http2.DefaultHttp2Headers(false).add("x-fill", "f".repeat(4000)));
      try {
        for (int i = 0; i < 2000; i++) { // 8 MB of header block, if nothing stopped it
          h2.frame(H2Wire.CONTINUATION, 0, 1, filler);
        }
      } catch (java.io.IOException closed) {
        // the gateway closed the connection while we were sending: as it should
      }
      // (What the client could write says nothing: the kernel's buffers take megabytes. The
      // GOAWAY says where the gateway stopped: at the header list limit, not at the end.)
      H2Wire.Frame goaway = h2.untilClosed();
      assertThat(goaway).as("a GOAWAY before the close").isNotNull();
      assertThat(goaway.errorCode()).as("PROTOCOL_ERROR").isEqualTo(0x1L);
      assertThat(new String(goaway.payload(), 8, goaway.payload().length - 8, java.nio.charset.StandardCharsets.UTF_8))
          .contains("Header size exceeded max allowed size (10240)");
      othersAreServed(); // (the log is read once the connection is through)
      // attack s14-3: each such connection logged a warning with its stack trace, 4 KB
      assertThat(netty.lines()).as("what Netty logged").isEmpty();
    }
    othersAreServed();
  }

  @Test
  void aRunOfEmptyContinuationFramesLosesItsConnection() throws Exception {
    // Attack s14-2: empty CONTINUATION frames never grow the header block, so its size limit
    // never ended the run (90 million frames in ten seconds, no GOAWAY).
    try (H2Wire h2 = connect()) {
      h2.frame(H2Wire.HEADERS, H2Wire.END_STREAM, 1, h2.encode(H2Wire.request("GET", "/c", "app.test")));
      try {
        for (int i = 0; i < 100_000; i++) {
          h2.frame(H2Wire.CONTINUATION, 0, 1, new byte[0]);
        }
      } catch (java.io.IOException closed) {
        // the gateway closed the connection while we were sending: as it should
      }
      H2Wire.Frame goaway = h2.untilClosed();
      assertThat(goaway).as("a GOAWAY before the close").isNotNull();
      assertThat(goaway.errorCode()).as("ENHANCE_YOUR_CALM").isEqualTo(0xb);
      assertThat(new String(goaway.payload(), 8, goaway.payload().length - 8, java.nio.charset.StandardCharsets.UTF_8))
          .isEqualTo("more than 32 CONTINUATION frames in one header block");
    }
    othersAreServed();
  }

  @Test
  void anIdleConnectionIsToldGoawayBeforeItCloses() throws Exception {
    gw.close();
    gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        timeouts: { idle: 1s }
        tenants:
          - name: app
            domains: [app.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
        """.formatted(cert.cert(), cert.key(), backend.url()));
    try (H2Wire h2 = connect()) {
      h2.headers(1, H2Wire.request("GET", "/once", "app.test"), true);
      assertThat(h2.status(1)).isEqualTo(200);
      // then nothing: past timeouts.idle the connection goes, saying so (attack s14: a bare close)
      H2Wire.Frame goaway = h2.untilClosed();
      assertThat(goaway).as("a GOAWAY before the close").isNotNull();
      assertThat(goaway.errorCode()).as("NO_ERROR").isZero();
      int lastStream = ((goaway.payload()[0] & 0x7f) << 24) | ((goaway.payload()[1] & 0xff) << 16)
          | ((goaway.payload()[2] & 0xff) << 8) | (goaway.payload()[3] & 0xff);
      assertThat(lastStream).as("the last stream processed").isEqualTo(1);
    }
  }

  @Test
  void streamsBeyondTheConcurrentLimitAreRefused() throws Exception {
    backend.handler(req -> { }); // never answers: every stream stays open
    try (H2Wire h2 = connect()) {
      int stream = 1;
      for (int i = 0; i < Http2Clients.MAX_CONCURRENT_STREAMS; i++, stream += 2) {
        h2.headers(stream, H2Wire.request("GET", "/hold/" + i, "app.test"), true);
      }
      h2.headers(stream, H2Wire.request("GET", "/one-too-many", "app.test"), true);
      H2Wire.Frame f = h2.next(stream);
      assertThat(f.type()).isEqualTo(H2Wire.RST_STREAM);
      assertThat(f.errorCode()).as("REFUSED_STREAM").isEqualTo(0x7);
    } finally {
      backend.handler(req -> req.body().onSuccess(b -> req.response().end("A " + req.uri())));
    }
    othersAreServed();
  }
}
