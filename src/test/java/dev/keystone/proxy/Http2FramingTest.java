package dev.keystone.proxy;

import dev.keystone.testing.H2Wire;
import dev.keystone.testing.RawBackend;
import dev.keystone.testing.TestCertificates;
import dev.keystone.testing.TestGateway;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The frames of an HTTP/2 answer, as nginx sends them: HEADERS, then DATA with END_STREAM on the
 * last one; a single HEADERS with END_STREAM when there is no body; trailers in a last HEADERS
 * with END_STREAM; interim answers without it. No empty DATA frame only to end the stream (a
 * frame, a flow-control turn and nine bytes per answer). The backend writes each answer in one
 * piece, so it reaches the gateway in one read.
 */
class Http2FramingTest {

  @TempDir
  static Path dir;
  static TestCertificates ca;
  static RawBackend backend;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    ca = TestCertificates.in(dir);
    TestCertificates.Issued cert = ca.issue("app", "app.test");
    backend = new RawBackend(c -> {
      RawBackend.Request r;
      while ((r = c.readRequest()) != null) {
        switch (r.target()) {
          case "/body" -> c.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
          case "/none" -> c.write("HTTP/1.1 204 No Content\r\nX-Kept: 1\r\n\r\n");
          case "/head" -> c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
          case "/trailers" -> c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
              + "4\r\ndata\r\n0\r\nX-Checksum: abc123\r\n\r\n");
          case "/upload" -> c.write("HTTP/1.1 200 OK\r\nContent-Length: " + r.body().length + "\r\n\r\n" + r.bodyText());
          case "/hop" -> c.write("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, X-Internal\r\n"
              + "X-Internal: secret\r\nUpgrade: h2c\r\nCONTENT-TYPE: text/plain\r\nX-Mixed-Case: v\r\nContent-Length: 2\r\n\r\nok");
          default -> c.respond(404, "no");
        }
      }
    });
    gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        tenants:
          - name: app
            domains: [app.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
        """.formatted(cert.cert(), cert.key(), backend.url()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    backend.close();
  }

  /** The frames of stream 1 up to the one that ends it, each as "TYPE[+END] payload-length". */
  private static List<String> frames(H2Wire h2, List<H2Wire.Frame> kept) throws IOException {
    List<String> seen = new ArrayList<>();
    for (H2Wire.Frame f; (f = h2.next(1)) != null; ) {
      kept.add(f);
      String type = f.type() == H2Wire.HEADERS ? "HEADERS" : f.type() == H2Wire.DATA ? "DATA" : "type " + f.type();
      seen.add(type + (f.has(H2Wire.END_STREAM) ? "+END" : "") + (f.type() == H2Wire.DATA ? " " + f.payload().length : ""));
      if (f.has(H2Wire.END_STREAM) || f.type() == H2Wire.RST_STREAM || f.type() == H2Wire.GOAWAY) {
        break;
      }
    }
    return seen;
  }

  private static H2Wire connect() throws IOException {
    return new H2Wire(ca.clientContext(), gw.gateway().tlsPort(), "app.test");
  }

  @Test
  void anAnswerWithABodyIsHeadersThenOneDataFrameThatEndsTheStream() throws Exception {
    try (H2Wire h2 = connect()) {
      h2.headers(1, H2Wire.request("GET", "/body", "app.test"), true);
      List<H2Wire.Frame> kept = new ArrayList<>();
      assertThat(frames(h2, kept)).containsExactly("HEADERS", "DATA+END 5");
      assertThat(h2.decode(kept.get(0)).status().toString()).isEqualTo("200");
      assertThat(new String(kept.get(1).payload(), StandardCharsets.US_ASCII)).isEqualTo("hello");
    }
  }

  @Test
  void answersWithoutABodyAreOneHeadersFrameThatEndsTheStream() throws Exception {
    try (H2Wire h2 = connect()) {
      h2.headers(1, H2Wire.request("GET", "/none", "app.test"), true);
      List<H2Wire.Frame> kept = new ArrayList<>();
      assertThat(frames(h2, kept)).containsExactly("HEADERS+END");
      assertThat(h2.decode(kept.get(0)).status().toString()).isEqualTo("204");
      h2.headers(3, H2Wire.request("HEAD", "/head", "app.test"), true);
      H2Wire.Frame head = h2.next(3);
      assertThat(head.type()).isEqualTo(H2Wire.HEADERS);
      assertThat(head.has(H2Wire.END_STREAM)).isTrue();
      assertThat(h2.decode(head).get("content-length").toString()).isEqualTo("5");
    }
  }

  @Test
  void trailersEndTheStreamInALastHeadersFrame() throws Exception {
    try (H2Wire h2 = connect()) {
      h2.headers(1, H2Wire.request("GET", "/trailers", "app.test", "te", "trailers"), true);
      List<H2Wire.Frame> kept = new ArrayList<>();
      assertThat(frames(h2, kept)).containsExactly("HEADERS", "DATA 4", "HEADERS+END");
      Http2Headers trailers = h2.decode(kept.get(2));
      assertThat(trailers.get("x-checksum").toString()).isEqualTo("abc123");
      assertThat(trailers.size()).isEqualTo(1);
    }
  }

  @Test
  void aContinueIsAnInterimHeadersFrameThenTheAnswerFollows() throws Exception {
    try (H2Wire h2 = connect()) {
      h2.headers(1, H2Wire.request("POST", "/upload", "app.test", "expect", "100-continue", "content-length", "3"), false);
      H2Wire.Frame interim = h2.next(1);
      assertThat(interim.type()).isEqualTo(H2Wire.HEADERS);
      assertThat(interim.has(H2Wire.END_STREAM)).isFalse();
      assertThat(h2.decode(interim).status().toString()).isEqualTo("100");
      h2.data(1, "abc".getBytes(StandardCharsets.US_ASCII), true);
      List<H2Wire.Frame> kept = new ArrayList<>();
      assertThat(frames(h2, kept)).containsExactly("HEADERS", "DATA+END 3");
      assertThat(h2.decode(kept.get(0)).status().toString()).isEqualTo("200");
    }
  }

  @Test
  void connectionSpecificFieldsAreLeftOutAndNamesAreLowerCase() throws Exception {
    try (H2Wire h2 = connect()) {
      h2.headers(1, H2Wire.request("GET", "/hop", "app.test"), true);
      List<H2Wire.Frame> kept = new ArrayList<>();
      assertThat(frames(h2, kept)).containsExactly("HEADERS", "DATA+END 2");
      List<String> names = new ArrayList<>();
      h2.decode(kept.get(0)).forEach(e -> names.add(e.getKey().toString()));
      assertThat(names).containsExactlyInAnyOrder(":status", "content-type", "x-mixed-case", "content-length",
          "x-request-id", "via");
    }
  }

  @Test
  void anAnswerBeforeTheWholeRequestEndsTheStreamWithoutError() throws Exception {
    // RFC 9113 section 8.1: after a complete answer to a request whose body has not all come,
    // the server asks the client to stop sending with RST_STREAM(NO_ERROR); a CANCEL (attack s16
    // F3) let clients discard the answer.
    TestCertificates.Issued cert = ca.issue("early", "early.test");
    try (RawBackend early = new RawBackend(c -> {
      if (c.readHead() != null) {
        c.write("HTTP/1.1 413 Too Big\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!");
        c.shutdownOutputAndDrain();
      }
    }); TestGateway other = TestGateway.start("""
        limits: { body_buffer: 0 }
        tls_listen: 127.0.0.1:0
        tenants:
          - name: early
            domains: [early.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
        """.formatted(cert.cert(), cert.key(), early.url()));
         H2Wire h2 = new H2Wire(ca.clientContext(), other.gateway().tlsPort(), "early.test")) {
      h2.headers(1, H2Wire.request("POST", "/upload", "early.test", "content-length", "100000"), false);
      h2.data(1, new byte[1000], false);
      List<H2Wire.Frame> kept = new ArrayList<>();
      assertThat(frames(h2, kept)).containsExactly("HEADERS", "DATA+END 4");
      assertThat(h2.decode(kept.get(0)).status().toString()).isEqualTo("413");
      H2Wire.Frame reset = h2.next(1);
      assertThat(reset.type()).isEqualTo(H2Wire.RST_STREAM);
      assertThat(reset.errorCode()).as("NO_ERROR").isZero();
      h2.headers(3, H2Wire.request("GET", "/after", "early.test"), true); // the connection goes on
      H2Wire.Frame next = h2.next(3);
      assertThat(next.type()).as("no second reset of stream 1 before stream 3's answer").isEqualTo(H2Wire.HEADERS);
    }
  }

  @Test
  void aClientThatReadsSlowlyButSteadilyGetsTheWholeAnswer() throws Exception {
    // Attack s16 F2: progress was counted only when the stream could take writes again, and a
    // write was a whole backend read (up to 64 KiB) that completes only once all of it is out,
    // so a client taking 20 KB a second was cut as "stopped reading" after timeouts.idle (2 s
    // here). Now each 16 KiB frame taken counts, as any bytes taken count for nginx's send_timeout.
    TestCertificates.Issued cert = ca.issue("slow", "slow.test");
    byte[] big = new byte[150_000];
    java.util.Arrays.fill(big, (byte) 'z');
    try (RawBackend slow = new RawBackend(c -> {
      while (c.readRequest() != null) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: " + big.length + "\r\n\r\n");
        c.write(big);
      }
    }); TestGateway other = TestGateway.start("""
        timeouts: { idle: 2s }
        tls_listen: 127.0.0.1:0
        tenants:
          - name: slow
            domains: [slow.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
        """.formatted(cert.cert(), cert.key(), slow.url()));
         H2Wire h2 = new H2Wire(ca.clientContext(), other.gateway().tlsPort(), "slow.test")) {
      // A stream window of 2,000 bytes, opened by 2,000 every 100 ms: 20 KB a second.
      h2.frame(H2Wire.SETTINGS, 0, 0, new byte[] {0, 4, 0, 0, 0x07, (byte) 0xd0});
      h2.headers(1, H2Wire.request("GET", "/big", "slow.test"), true);
      long got = 0;
      boolean ended = false;
      while (!ended) {
        H2Wire.Frame f = h2.next(1);
        assertThat(f).as("the stream after " + got + " bytes").isNotNull();
        assertThat(f.type()).as("the stream after " + got + " bytes: no reset").isIn(H2Wire.HEADERS, H2Wire.DATA);
        if (f.type() == H2Wire.DATA && f.payload().length > 0) {
          got += f.payload().length;
          Thread.sleep(100L * f.payload().length / 2000);
          byte[] inc = {0, 0, (byte) (f.payload().length >> 8), (byte) f.payload().length};
          h2.frame(H2Wire.WINDOW_UPDATE, 0, 1, inc);
          h2.frame(H2Wire.WINDOW_UPDATE, 0, 0, inc);
        }
        ended = f.has(H2Wire.END_STREAM);
      }
      assertThat(got).isEqualTo(big.length);
    }
  }
}
