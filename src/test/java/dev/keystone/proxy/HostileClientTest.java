package dev.keystone.proxy;

import dev.keystone.testing.Await;
import dev.keystone.testing.LogCapture;
import dev.keystone.testing.RawBackend;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestGateway;
import dev.keystone.model.BackendHealth;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Findings of an attack on the data plane as a hostile client, each pinned: clients that stop
 * reading or sending are cut and never held against a backend, requests a backend could read in
 * another way than the gateway are refused, and a client cannot make the gateway read (and buffer)
 * without limit.
 */
class HostileClientTest {

  private RawBackend backend;
  private TestGateway gw;
  private final AtomicBoolean stop = new AtomicBoolean();

  @AfterEach
  void close() {
    stop.set(true);
    if (gw != null) {
      gw.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  /** Answers GET /big with 50 MB as fast as the gateway takes it; anything else with what it saw. */
  private void start(String extra) {
    backend = new RawBackend(c -> {
      RawBackend.Request r;
      while ((r = c.readRequest()) != null) {
        if (r.target().equals("/big")) {
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n");
          byte[] mb = new byte[1024 * 1024];
          for (int i = 0; i < 50 && !stop.get(); i++) {
            c.write(mb);
          }
          return;
        }
        if (r.target().equals("/k16")) {
          c.respond(200, "k".repeat(16 * 1024));
          continue;
        }
        StringBuilder seen = new StringBuilder(r.method() + " " + r.target() + " body=" + r.bodyText());
        for (String[] h : r.headers()) {
          seen.append('\n').append(h[0]).append(": ").append(h[1]);
        }
        c.respond(200, seen.toString());
      }
    });
    gw = TestGateway.start(extra + """
        passive_health: { consecutive_failures: 1 }
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services: [{ name: b, url: "%s", health: /health }]
        """.formatted(backend.url()));
  }

  private BackendHealth health() {
    return gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health();
  }

  private RawHttp.Response exchange(String request) {
    try (RawHttp raw = gw.raw()) {
      return raw.write(request).readResponse(false);
    }
  }

  @Test
  void aClientThatStopsReadingIsCutAfterIdleAndNotHeldAgainstTheBackend() throws IOException {
    start("timeouts: { idle: 500ms }\n");
    try (LogCapture log = LogCapture.accessLog(); RawHttp raw = gw.raw(4096)) {
      raw.write("GET /t/big HTTP/1.1\r\nHost: x\r\nX-Request-ID: not-reading\r\n\r\n");
      String line = log.awaitOne("request_id=not-reading"); // the gateway ended it while nothing was read
      assertThat(line).contains("status=aborted", "error=\"client stopped reading the response");
      int read = raw.readUntilClose().length();
      assertThat(read).as("cut, not delivered whole").isLessThan(50 * 1024 * 1024);
    }
    assertThat(health().passiveFailures()).as("a slow client is not the backend's failure").isZero();
    assertThat(health().ejected()).isFalse();
  }

  @Test
  void aStalledUploadIs408AndNotHeldAgainstTheBackend() {
    start("timeouts: { idle: 500ms }\n");
    try (RawHttp raw = gw.raw()) {
      RawHttp.Response r = raw.write("POST /t/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nX-Request-ID: stalled\r\n\r\nx")
          .readResponse(false);
      assertThat(r.status()).isEqualTo(408);
      assertThat(r.body()).isEqualTo("408 Request Timeout (request id stalled)\n");
    }
    assertThat(health().passiveFailures()).isZero();
  }

  @Test
  void aWebSocketUpgradeWithABodyIsForwardedAsAPlainRequest() {
    start("");
    RawHttp.Response r = exchange("POST /t/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Content-Length: 5\r\n\r\nhello");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).startsWith("POST /ws body=hello").doesNotContainIgnoringCase("upgrade: websocket");
  }

  /**
   * RFC 9110 section 7.8: a server ignores an Upgrade in an HTTP/1.0 request. It was forwarded as
   * a WebSocket handshake (attack on the Netty client side, C1-2: a 101 and then no tunnel).
   */
  @Test
  void anUpgradeInAnHttp10RequestIsIgnored() {
    start("");
    RawHttp.Response r = exchange("GET /t/ws HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).startsWith("GET /ws").doesNotContainIgnoringCase("upgrade: websocket");
  }

  private static final String HANDSHAKE = "GET /t/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

  /**
   * A backend that takes WebSocket handshakes on /ws (answering 403 when {@code refuse}, else 101
   * and then echoing what it reads, in reads of up to 64 bytes, as {@code got:...}) and answers
   * anything else with what it saw.
   */
  private void startWebSockets(boolean refuse) {
    startWebSockets(refuse, "");
  }

  private void startWebSockets(boolean refuse, String extra) {
    backend = new RawBackend(c -> {
      RawBackend.Request r;
      while ((r = c.readRequest()) != null) {
        if (!r.target().equals("/ws")) {
          c.respond(200, r.method() + " " + r.target());
          continue;
        }
        if (refuse) {
          c.respond(403, "no upgrade");
          continue;
        }
        c.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        for (;;) {
          byte[] got = c.readSome(64);
          if (got.length == 0) {
            return;
          }
          c.write("got:" + new String(got, java.nio.charset.StandardCharsets.ISO_8859_1) + "|");
        }
      }
    });
    gw = TestGateway.start(extra + """
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services: [{ name: b, url: "%s", health: /health }]
        """.formatted(backend.url()));
  }

  /**
   * docs/configuration.md: an open tunnel closes after the longer of idle and response_header
   * without traffic. The tunnel on Netty used idle alone (a 300 ms idle closed a tunnel silent
   * for 1 s with a 5 s response_header). Failing first.
   */
  @Test
  void aSilentWebSocketLastsTheLongerOfIdleAndResponseHeader() {
    startWebSockets(false, "timeouts: { idle: 300ms, response_header: 5s }\n");
    try (RawHttp raw = gw.raw(); RawHttp idle = gw.raw()) {
      raw.write(HANDSHAKE);
      assertThat(raw.readResponse(true).status()).isEqualTo(101);
      // A kept-alive connection that goes quiet after the tunnel opened: once the gateway has
      // closed it for idle, the tunnel has been silent for longer than idle too.
      assertThat(idle.write("GET /t/x HTTP/1.1\r\nHost: x\r\n\r\n").readResponse(false).status()).isEqualTo(200);
      assertThat(idle.closedByServer()).isTrue();
      raw.write("later");
      assertThat(echoed(raw.readUntil("later|"))).isEqualTo("later");
    }
  }

  /**
   * Bytes a client sends right behind its handshake, before the 101, are the tunnel's first
   * bytes (as nginx relays them). The tunnel on Netty closed 0.2 s after the 101 and lost them
   * (attack on the Netty client side, C1-1: they went through the backend connection's HTTP
   * encoder); Vert.x's server dropped them. Failing first.
   */
  @Test
  void bytesSentRightBehindAWebSocketHandshakeGoThroughTheTunnel() {
    startWebSockets(false);
    try (RawHttp raw = gw.raw()) {
      raw.write(HANDSHAKE + "EARLY\r\nDATA");
      assertThat(raw.readResponse(true).status()).isEqualTo(101);
      assertThat(echoed(raw.readUntil("DATA|"))).isEqualTo("EARLY\r\nDATA");
      raw.write("later");
      assertThat(echoed(raw.readUntil("later|"))).isEqualTo("later");
    }
  }

  /** What the backend's echoes say it got, in order. */
  private static String echoed(String echoes) {
    return echoes.replace("got:", "").replace("|", "");
  }

  /**
   * What a client pipelines behind a handshake the backend refuses was read as tunnel bytes: it
   * is no request the gateway can trust, so the refusal closes the connection and nothing of it
   * reaches a backend. A refused handshake with nothing behind it keeps the connection.
   */
  @Test
  void aRequestPipelinedBehindARefusedHandshakeIsNotForwarded() {
    startWebSockets(true);
    try (RawHttp raw = gw.raw()) {
      raw.write(HANDSHAKE + "GET /t/behind HTTP/1.1\r\nHost: x\r\n\r\n");
      RawHttp.Response r = raw.readResponse(false);
      assertThat(r.status()).isEqualTo(403);
      assertThat(r.header("Connection")).isEqualTo("close");
      assertThat(raw.closedByServer()).isTrue();
    }
    try (RawHttp raw = gw.raw()) {
      assertThat(raw.write(HANDSHAKE).readResponse(false).status()).isEqualTo(403);
      RawHttp.Response next = raw.write("GET /t/next HTTP/1.1\r\nHost: x\r\n\r\n").readResponse(false);
      assertThat(next.status()).isEqualTo(200);
      assertThat(next.body()).isEqualTo("GET /next");
    }
    assertThat(backend.requests()).extracting(RawBackend.Request::target).containsExactly("/ws", "/ws", "/next");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/t/..\\secret", "/t/a\\b", "/t/..;/x", "/t/.;a/x", "/t/a#frag", "/t/%zz", "/t/a%2", "/t/%"})
  void pathsABackendCouldReadDifferentlyAre400(String target) {
    start("");
    RawHttp.Response r = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    assertThat(r.status()).as(target).isEqualTo(400);
    assertThat(backend.requests()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {": x", ":authority: evil"})
  void aHeaderNameMustBeAToken(String line) {
    start("");
    RawHttp.Response r = exchange("GET /t/x HTTP/1.1\r\nHost: x\r\n" + line + "\r\n\r\n");
    assertThat(r.status()).isEqualTo(400);
    assertThat(backend.requests()).isEmpty();
  }

  @Test
  void underscoreTwinsOfFramingAndForwardingHeadersAreDropped() {
    start("");
    RawHttp.Response r = exchange("GET /t/x HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\nContent_Length: 5\r\n"
        + "X_Forwarded_For: 6.6.6.6\r\nx_request_id: forged\r\nX_Custom: kept\r\n\r\n");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).contains("X_Custom: kept").doesNotContain("Transfer_Encoding", "Content_Length", "X_Forwarded_For",
        "x_request_id");
  }

  @Test
  void anEmptyFirstLineOfAListHeaderDoesNotHideTheOthers() {
    start("");
    RawHttp.Response r = exchange("GET /t/x HTTP/1.1\r\nHost: x\r\nX-Forwarded-For:\r\nX-Forwarded-For: 203.0.113.9\r\n"
        + "Via:\r\nVia: 1.1 edge\r\n\r\n");
    assertThat(r.body()).contains("X-Forwarded-For: 203.0.113.9, 127.0.0.1", "Via: 1.1 edge, 1.1 keystone");
  }

  @ParameterizedTest
  @ValueSource(strings = {"100000005", "10000000000000005", "5 junk", " 5", "5\t", "5;a=\"b", "5;a=b c", "5;a\rb", "0x5",
      "+5", "5;", ";x"})
  void aChunkSizeLineIsReadStrictly(String sizeLine) {
    start("");
    try (RawHttp raw = gw.raw()) {
      raw.write("POST /t/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + sizeLine + "\r\nhello\r\n0\r\n\r\n"
          + "GET /t/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n");
      RawHttp.Response r = raw.readResponse(false);
      assertThat(r.status()).as(sizeLine).isEqualTo(400);
      assertThat(raw.closedByServer()).isTrue();
    }
    assertThat(backend.requests()).extracting(RawBackend.Request::target).doesNotContain("/SMUGGLED");
  }

  /**
   * A Transfer-Encoding header the size-line check could miss: it must see every shape of the
   * header the decoder sees, or a bad size line behind it would reach the decoder unchecked.
   */
  @ParameterizedTest
  @ValueSource(strings = {"long-ows", "long-line", "obs-fold", "fold-after-other", "space-before-colon",
      "chunked-then-gzip", "chunked-comma-gzip"})
  void everyShapeOfTheFramingHeaderIsSeenBeforeTheDecoder(String shape) {
    String framing = switch (shape) {
      case "long-ows" -> "Transfer-Encoding:" + " ".repeat(300) + "chunked";
      case "long-line" -> "Transfer-Encoding: " + "chunked,".repeat(40) + "chunked";
      case "obs-fold" -> "Transfer-Encoding:\r\n chunked";
      case "fold-after-other" -> "Transfer-Encoding: chunked\r\nX-A: a\r\n\tb";
      case "space-before-colon" -> "Transfer-Encoding : chunked";
      case "chunked-then-gzip" -> "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip";
      case "chunked-comma-gzip" -> "Transfer-Encoding: chunked, gzip";
      default -> throw new IllegalArgumentException(shape);
    };
    start("");
    try (RawHttp raw = gw.raw()) {
      raw.write("POST /t/c HTTP/1.1\r\nHost: x\r\n" + framing + "\r\n\r\n100000005\r\nhello\r\n0\r\n\r\n"
          + "GET /t/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n");
      RawHttp.Response r = raw.readResponse(false);
      assertThat(r.status()).as(shape).isEqualTo(400);
      assertThat(raw.closedByServer()).as(shape).isTrue();
    }
    assertThat(backend.requests()).as(shape).isEmpty();
  }

  @Test
  void aFramingHeaderAfterLongWhitespaceStillFrames() {
    start("");
    RawHttp.Response r = exchange("POST /t/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:" + " ".repeat(5000) + "chunked\r\n\r\n"
        + "5\r\nhello\r\n0\r\n\r\n");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).startsWith("POST /c body=hello");
  }

  @Test
  void aFramingValueLongerThanAnyRealOneIs400() {
    start("");
    RawHttp.Response r = exchange("POST /t/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + "x".repeat(2000) + "\r\n\r\n");
    assertThat(r.status()).isEqualTo(400);
    assertThat(backend.requests()).isEmpty();
  }

  /**
   * A Content-Length the size-line check misses would let it take the body for heads: a fake
   * head in the body with a Content-Length of its own then makes it skip the bad size line of the
   * next request.
   */
  @Test
  void aContentLengthWithLongWhitespaceIsFollowed() {
    start("");
    String next = "POST /t/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000005\r\n";
    String body = "X\r\nContent-Length: " + next.length() + "\r\n\r\n";
    try (RawHttp raw = gw.raw()) {
      raw.write("POST /t/a HTTP/1.1\r\nHost: x\r\nContent-Length:" + " ".repeat(300) + body.length() + "\r\n\r\n" + body
          + next + "hello\r\n0\r\n\r\nGET /t/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(raw.readResponse(false).status()).isEqualTo(200);
      assertThat(raw.readResponse(false).status()).isEqualTo(400);
      assertThat(raw.closedByServer()).isTrue();
    }
    assertThat(backend.requests()).extracting(RawBackend.Request::target).containsExactly("/a");
  }

  @Test
  void validChunkExtensionsPass() {
    start("");
    RawHttp.Response r = exchange("POST /t/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5;name=value;q=\"quoted \\\" text\"\r\nhello\r\n00000;last\r\n\r\n");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).startsWith("POST /c body=hello");
  }

  @Test
  void pipelinedRequestsOfAClientThatDoesNotReadAreNotReadWithoutLimit() throws Exception {
    start("");
    // 64 MB of requests: more than the kernel's socket buffers hold, so the client blocks as
    // soon as the gateway stops reading.
    try (RawHttp raw = gw.raw(4096)) {
      byte[] batch = "GET /t/k16 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
      Thread writer = new Thread(() -> {
        try {
          for (int i = 0; i < 2000 && !stop.get(); i++) {
            raw.write(batch);
          }
        } catch (RuntimeException e) {
          // the gateway stops reading or closes: expected
        }
      });
      writer.setDaemon(true);
      writer.start();
      // The gateway answers (16 KiB each, one write per response) until the kernel's buffers and
      // its own write buffer to this client are full, then stops reading and answering.
      Await.until("the backend stops getting requests", () -> {
        int before = backend.requests().size();
        try {
          writer.join(500);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return before > 0 && backend.requests().size() == before;
      });
      assertThat(writer.isAlive()).as("the client is blocked: the gateway stopped reading").isTrue();
      assertThat(backend.requests().size()).as("requests read from a client that reads nothing").isLessThan(1_000);
      stop.set(true);
      RawHttp.Response first = raw.readResponse(false);
      assertThat(first.status()).as("the connection is still served once the client reads").isEqualTo(200);
    }
  }
}
