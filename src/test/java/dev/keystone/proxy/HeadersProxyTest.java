package dev.keystone.proxy;

import dev.keystone.testing.Await;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Hop-by-hop headers are dropped in both directions; forwarding headers are added. */
class HeadersProxyTest {

  static Vertx vertx;
  static TestBackend backend;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "h").handler(req -> req.response()
        .putHeader("Connection", "X-Internal, keep-alive")
        .putHeader("X-Internal", "secret")
        .putHeader("Keep-Alive", "timeout=5")
        .putHeader("Proxy-Authenticate", "Basic")
        .putHeader("Upgrade", "h2c")
        .putHeader("X-Visible", "yes")
        .end("ok"));
    gw = TestGateway.start("""
        tenants:
          - name: h
            path_prefix: /h/
            services: [{ name: h, url: "%s" }]
        """.formatted(backend.url()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    vertx.close();
  }

  @Test
  void hopByHopRequestHeadersAreNotForwarded() {
    try (RawHttp raw = gw.raw()) {
      String resp = raw.write("GET /h/x HTTP/1.1\r\nHost: example.org\r\n"
          + "Connection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=9\r\n"
          + "TE: trailers\r\nTrailer: X-T\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n"
          + "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-End-To-End: kept\r\n\r\n").readUntil("ok");
      assertThat(RawHttp.status(resp)).isEqualTo(200);
    }
    var h = backend.last().headers();
    assertThat(h.names()).map(String::toLowerCase)
        .doesNotContain("x-secret-hop", "keep-alive", "te", "trailer", "proxy-authorization", "proxy-connection", "upgrade");
    assertThat(h.getAll("Connection")).as("none of the client's connection management: HTTP/1.1 keeps alive by default")
        .isEmpty();
    assertThat(h.get("X-End-To-End")).isEqualTo("kept");
  }

  @Test
  void hopByHopResponseHeadersAreNotReturned() {
    var r = gw.get("/h/x");
    assertThat(r.headers().firstValue("X-Visible")).hasValue("yes");
    assertThat(r.headers().map().keySet()).map(String::toLowerCase)
        .doesNotContain("x-internal", "keep-alive", "proxy-authenticate", "upgrade");
  }

  @Test
  void forwardedHeadersAreAppendedAndSet() {
    gw.get("/h/x", "X-Forwarded-For", "203.0.113.7");
    var h = backend.last().headers();
    assertThat(h.get("X-Forwarded-For")).isEqualTo("203.0.113.7, 127.0.0.1");
    assertThat(h.get("X-Forwarded-Proto")).isEqualTo("http");
    assertThat(h.get("X-Forwarded-Host")).isEqualTo("127.0.0.1:" + gw.port());
    gw.get("/h/y");
    Await.until("second request seen", () -> backend.last().uri().equals("/y"));
    assertThat(backend.last().headers().get("X-Forwarded-For")).isEqualTo("127.0.0.1");
  }
}
