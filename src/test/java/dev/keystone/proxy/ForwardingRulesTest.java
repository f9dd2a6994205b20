package dev.keystone.proxy;

import dev.keystone.testing.RawBackend;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestGateway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What is forwarded and what is refused: RFC 9110's hop-by-hop rule over every Connection line,
 * Via and Forwarded, trailers, and the request shapes a proxy must reject rather than pass on
 * (RFC 9112 section 3.2: control characters in the target, a Host that is not a host).
 */
class ForwardingRulesTest {

  static RawBackend backend;
  static TestGateway gw;
  static TestGateway passing;
  static final AtomicInteger seen = new AtomicInteger();

  @BeforeAll
  static void start() {
    backend = new RawBackend(c -> {
      RawBackend.Request r;
      while ((r = c.readRequest()) != null) {
        seen.incrementAndGet();
        switch (r.target()) {
          case "/hop" -> c.write("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: X-Internal\r\n"
              + "X-Internal: secret\r\nVia: 1.0 app-server\r\nContent-Length: 2\r\n\r\nok");
          case "/trailers" -> c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
              + "4\r\ndata\r\n0\r\nX-Checksum: abc123\r\n\r\n");
          default -> c.respond(200, "seen " + r.target());
        }
      }
    });
    String tenants = """
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services: [{ name: b, url: "%s", health: /health }]
        """.formatted(backend.url());
    gw = TestGateway.start(tenants);
    passing = TestGateway.start("escaped_slashes: pass\n" + tenants);
  }

  @AfterAll
  static void stop() {
    gw.close();
    passing.close();
    backend.close();
  }

  @BeforeEach
  void reset() {
    seen.set(0);
  }

  private static RawHttp.Response exchange(TestGateway g, String request) {
    try (RawHttp raw = g.raw()) {
      return raw.write(request).readResponse(request.startsWith("HEAD"));
    }
  }

  private static RawBackend.Request lastSeen() {
    return backend.requests().get(backend.requests().size() - 1);
  }

  @Test
  void everyConnectionLineAndEveryTokenNamesAHopByHopHeader() {
    RawHttp.Response r = exchange(gw, "GET /t/x HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive\r\n"
        + "Connection: X-Secret, X-Other\r\nX-Secret: 1\r\nX-Other: 2\r\nX-Kept: 3\r\n\r\n");
    assertThat(r.status()).isEqualTo(200);
    RawBackend.Request req = lastSeen();
    assertThat(req.header("X-Secret")).isNull();
    assertThat(req.header("X-Other")).isNull();
    assertThat(req.header("X-Kept")).isEqualTo("3");
    assertThat(req.all("Connection")).as("only the gateway's own connection management").isEmpty();

    RawHttp.Response hop = exchange(gw, "GET /t/hop HTTP/1.1\r\nHost: a.example\r\n\r\n");
    assertThat(hop.header("X-Internal")).as("named by the backend's second Connection line").isNull();
  }

  @Test
  void viaIsAddedBothWays() {
    RawHttp.Response r = exchange(gw, "GET /t/hop HTTP/1.1\r\nHost: a.example\r\nVia: 1.1 edge\r\n\r\n");
    assertThat(lastSeen().header("Via")).isEqualTo("1.1 edge, 1.1 keystone");
    assertThat(r.header("Via")).isEqualTo("1.0 app-server, 1.1 keystone");
    RawHttp.Response r10 = exchange(gw, "GET /t/plain HTTP/1.0\r\nHost: a.example\r\n\r\n");
    assertThat(lastSeen().header("Via")).as("the client's protocol version").isEqualTo("1.0 keystone");
    assertThat(r10.header("Via")).as("the backend's protocol version").isEqualTo("1.1 keystone");
  }

  @Test
  void forwardedIsAppendedLikeXForwardedFor() {
    exchange(gw, "GET /t/f HTTP/1.1\r\nHost: shop.example\r\nForwarded: for=203.0.113.7\r\n"
        + "X-Forwarded-For: 203.0.113.7\r\n\r\n");
    RawBackend.Request req = lastSeen();
    assertThat(req.header("X-Forwarded-For")).isEqualTo("203.0.113.7, 127.0.0.1");
    assertThat(req.header("Forwarded")).isEqualTo("for=203.0.113.7, for=127.0.0.1;host=shop.example;proto=http");
    exchange(gw, "GET /t/g HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    assertThat(lastSeen().header("Forwarded")).isEqualTo("for=127.0.0.1;host=\"[::1]:8080\";proto=http");
  }

  @Test
  void responseTrailersAreRelayed() {
    RawHttp.Response r = exchange(gw, "GET /t/trailers HTTP/1.1\r\nHost: a.example\r\nTE: trailers\r\n\r\n");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("data");
    assertThat(r.trailer("X-Checksum")).isEqualTo("abc123");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/t/a\u0000b", "/t/a\u0001b", "/t/a\u007fb", "/t/a\u001bb", "/t/a\tb", "/t/a\u00ffb"})
  void controlCharactersInTheTargetAre400AndNeverForwarded(String target) {
    RawHttp.Response r = exchange(gw, "GET " + target + " HTTP/1.1\r\nHost: a.example\r\n\r\n");
    assertThat(r.status()).isEqualTo(400);
    assertThat(seen.get()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"a b.example", "a/b.example", "user@a.example", "a.example:80:80", "a.example:http",
      "a.example:99999", "[::1", "a\"b.example", "a.example\\x", "a{b}.example", "[zz::1]"})
  void aHostThatIsNotAHostIs400AndNeverForwarded(String host) {
    RawHttp.Response r = exchange(gw, "GET /t/x HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    assertThat(r.status()).as(host).isEqualTo(400);
    assertThat(seen.get()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"a.example", "A.Example:8080", "[::1]:80", "127.0.0.1", "xn--bcher-kva.example", "a_b.example", ""})
  void validHostsPass(String host) {
    RawHttp.Response r = exchange(gw, "GET /t/x HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    assertThat(r.status()).as(host).isEqualTo(200);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/t/..%2Fother/x", "/t/..%2fother/x", "/t/a%2F..%2F..%2Fx", "/t/%2e%2e%2Fx", "/t/a%5C..%5Cx"})
  void aDotSegmentBehindAnEncodedSlashIs400(String target) {
    RawHttp.Response r = exchange(gw, "GET " + target + " HTTP/1.1\r\nHost: a.example\r\n\r\n");
    assertThat(r.status()).isEqualTo(400);
    assertThat(seen.get()).isZero();
  }

  @Test
  void encodedSlashesAre400ByDefaultAndPassUntouchedWhenAsked() {
    assertThat(exchange(gw, "GET /t/repos/a%2Fb HTTP/1.1\r\nHost: a.example\r\n\r\n").status()).isEqualTo(400);
    RawHttp.Response r = exchange(passing, "GET /t/repos/group%2Fproject/..%2F HTTP/1.1\r\nHost: a.example\r\n\r\n");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("seen /repos/group%2Fproject/..%2F");
  }
}
