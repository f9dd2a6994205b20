package dev.keystone.proxy;

import dev.keystone.testing.Await;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Ambiguous or oversized requests get a 4xx and never reach the backend as a complete request
 * (the shapes behind request smuggling).
 */
class MalformedRequestTest {

  static Vertx vertx;
  static TestBackend backend;
  static TestGateway gw;
  int before;
  int completedBefore;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "m");
    gw = TestGateway.start("""
        timeouts: { header_read: 500ms }
        limits: { max_header_size: 4KiB, max_uri_length: 1KiB, max_body_size: 1KiB }
        tenants:
          - name: m
            path_prefix: /m/
            services: [{ name: m, url: "%s" }]
        """.formatted(backend.url()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    vertx.close();
  }

  @BeforeEach
  void count() {
    before = backend.requests();
    completedBefore = backend.completed();
  }

  private int send(String request) {
    try (RawHttp raw = gw.raw()) {
      String resp = raw.write(request).readUntilClose();
      return RawHttp.status(resp);
    }
  }

  private void assertNothingForwarded() {
    assertThat(backend.requests()).as("requests seen by the backend: %s", backend.seen()).isEqualTo(before);
  }

  @Test
  void wellFormedRequestPasses() {
    assertThat(send("POST /m/ok HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")).isEqualTo(200);
    assertThat(backend.requests()).isEqualTo(before + 1);
  }

  @Test
  void contentLengthWithTransferEncodingIsRejected() {
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "0\r\n\r\nGET /m/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")).isEqualTo(400);
    assertNothingForwarded();
  }

  /** Attack round 3 (R3-1): a Connection header naming the framing would strip it before forwarding. */
  @Test
  void aConnectionHeaderNamingTheFramingIsRejected() {
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: Content-Length\r\n\r\nabc"))
        .isEqualTo(400);
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, transfer-encoding\r\n\r\n0\r\n\r\n"))
        .isEqualTo(400);
    assertNothingForwarded();
  }

  /**
   * Attack round 3 (R3-6): request lines RFC 9112 section 3 does not allow were forwarded as
   * sent. One SP between the parts, a target of RFC 3986 characters only, origin-form or an
   * http(s) absolute-form, and no expectation but 100-continue (417, RFC 9110 section 10.1.1).
   */
  @ParameterizedTest
  @ValueSource(strings = {
      "GET  /m/x HTTP/1.1", "GET /m/x  HTTP/1.1", "GET\t/m/x HTTP/1.1", "GET /m/x\tHTTP/1.1",
      "GET /m/<script> HTTP/1.1", "GET /m/a\"b HTTP/1.1", "GET /m/{x} HTTP/1.1", "GET /m/a|b HTTP/1.1",
      "GET /m/a^b HTTP/1.1", "GET /m/a`b HTTP/1.1", "GET /m/x?q=<a> HTTP/1.1",
      "GET ftp://x/m/x HTTP/1.1", "GET m/x HTTP/1.1", "GET * HTTP/1.1",
      // Attack round 4 (R4-9): what a decoding backend would read as NUL, CR, LF; brackets in a path.
      "GET /m/a%00b HTTP/1.1", "GET /m/a%0d%0aX-Evil:%201 HTTP/1.1", "GET /m/a%1Fb HTTP/1.1", "GET /m/a[b] HTTP/1.1"})
  void aRequestLineOutsideTheGrammarIsRejected(String line) {
    assertThat(send(line + "\r\nHost: x\r\n\r\n")).as(line).isEqualTo(400);
    assertNothingForwarded();
  }

  @Test
  void anAbsoluteFormHttpTargetStillPasses() {
    assertThat(send("GET http://x/m/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).isEqualTo(200);
  }

  @Test
  void anUnknownExpectationIs417() {
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continuex\r\nContent-Length: 3\r\n\r\nabc"))
        .isEqualTo(417);
    assertNothingForwarded();
  }

  @Test
  void differingContentLengthsAreRejected() {
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde")).isEqualTo(400);
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 5\r\n\r\nabcde")).isEqualTo(400);
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc")).isEqualTo(400);
    assertNothingForwarded();
  }

  @ParameterizedTest
  @ValueSource(strings = {"xchunked", "chunked, identity", "identity", "gzip, chunked", "chunked\r\nTransfer-Encoding: chunked"})
  void obfuscatedTransferEncodingIsRejected(String te) {
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + "\r\n\r\n0\r\n\r\n")).isEqualTo(400);
    assertNothingForwarded();
  }

  @Test
  void transferEncodingWithASpaceBeforeTheColonIsRejected() {
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n")).isEqualTo(400);
    assertNothingForwarded();
  }

  @Test
  void invalidChunkSizeIsRejectedAndNeverCompletesUpstream() {
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"))
        .isEqualTo(400);
    assertThat(backend.completed()).as("complete requests at the backend").isEqualTo(completedBefore);
  }

  @Test
  void severalHostHeadersAreRejected() {
    assertThat(send("GET /m/x HTTP/1.1\r\nHost: a.example.com\r\nHost: b.example.com\r\n\r\n")).isEqualTo(400);
    assertThat(send("GET /m/x HTTP/1.1\r\n\r\n")).as("HTTP/1.1 without Host").isEqualTo(400);
    assertNothingForwarded();
  }

  @Test
  void oversizedRequestLineIs414() {
    assertThat(send("GET /m/" + "a".repeat(2000) + " HTTP/1.1\r\nHost: x\r\n\r\n")).isEqualTo(414);
    assertThat(send("GET /m/" + "a".repeat(1030) + " HTTP/1.1\r\nHost: x\r\n\r\n")).as("just over the limit").isEqualTo(414);
    assertNothingForwarded();
  }

  @Test
  void oversizedHeadersAre431() {
    assertThat(send("GET /m/x HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(5000) + "\r\n\r\n")).isEqualTo(431);
    assertNothingForwarded();
  }

  @Test
  void declaredBodyTooLargeIs413() {
    assertThat(send("POST /m/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + "a".repeat(2048))).isEqualTo(413);
    assertNothingForwarded();
  }

  @Test
  void chunkedBodyTooLargeIs413AndNeverCompletesUpstream() {
    StringBuilder req = new StringBuilder("POST /m/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 4; i++) {
      req.append("200\r\n").append("c".repeat(512)).append("\r\n");
    }
    req.append("0\r\n\r\n");
    assertThat(send(req.toString())).isEqualTo(413);
    // the first KiB was already streamed: the backend saw the head, then a reset, never an end
    Await.until("the backend saw the aborted request", () -> backend.requests() == before + 1);
    assertThat(backend.completed()).isEqualTo(completedBefore);
  }

  @Test
  void slowHeadersAreCutOff() throws IOException {
    try (RawHttp raw = gw.raw()) {
      raw.write("GET /m/x HTTP/1.1\r\nHost: x\r\n"); // and then nothing more
      String got = raw.readUntilClose();
      assertThat(got).as("closed without any response").isEmpty();
    }
    assertNothingForwarded();
  }

  @Test
  void errorBodiesNameTheRequestId() {
    try (RawHttp raw = gw.raw()) {
      String resp = raw.write("GET /m/x HTTP/1.1\r\nHost: a\r\nHost: b\r\nX-Request-ID: abc-1\r\n\r\n").readUntilClose();
      assertThat(resp).contains("X-Request-ID: abc-1").endsWith("400 Bad Request (request id abc-1)\n");
    }
  }

}
