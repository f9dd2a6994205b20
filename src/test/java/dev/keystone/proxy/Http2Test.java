package dev.keystone.proxy;

import dev.keystone.testing.H2Wire;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestCertificates;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * HTTP/2 to clients over TLS (ALPN h2): a stream is served as an HTTP/1.1 request is, through
 * the same chain (forwarding headers, bodies both ways, many streams on one connection), HTTP/1.1
 * stays available by ALPN, and a malformed stream is answered 400 on its own while the connection
 * goes on.
 */
class Http2Test {

  @TempDir
  static Path dir;
  static TestCertificates ca;
  static TestCertificates.Issued cert;
  static Vertx vertx;
  static TestBackend backend;
  TestGateway gw;
  HttpClient client;

  @BeforeAll
  static void certificatesAndBackend() {
    ca = TestCertificates.in(dir);
    cert = ca.issue("app", "localhost", "app.test");
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
    // The JDK's client sends no server name for "localhost" (no dot): tls_default answers it.
    gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        tls_default: { cert: "%s", key: "%s" }
        tenants:
          - name: app
            domains: [app.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
          - name: local
            path_prefix: /l/
            services: [{ name: l1, url: "%s" }]
        """.formatted(cert.cert(), cert.key(), cert.cert(), cert.key(), backend.url(), backend.url()));
    client = HttpClient.newBuilder().sslContext(ca.clientContext()).version(HttpClient.Version.HTTP_2).build();
  }

  @AfterEach
  void stopGateway() {
    backend.handler(req -> req.body().onSuccess(b -> req.response().end("A " + req.uri())));
    gw.close();
  }

  private URI uri(String path) {
    return URI.create("https://localhost:" + gw.gateway().tlsPort() + "/l" + path);
  }

  @Test
  void aStreamIsForwardedLikeAnHttp11RequestOverTls() throws Exception {
    HttpResponse<String> r;
    try (dev.keystone.testing.LogCapture log = dev.keystone.testing.LogCapture.accessLog()) {
      r = client.send(HttpRequest.newBuilder(uri("/x?q=1")).header("Cookie", "a=1")
          .header("X-Custom", "v").build(), HttpResponse.BodyHandlers.ofString());
      assertThat(log.awaitOne("path=/l/x")).contains(" status=200 ").endsWith(" proto=h2");
    }
    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("A /x?q=1");
    assertThat(r.headers().firstValue("x-request-id")).isPresent();
    var seen = backend.last().headers();
    assertThat(seen.get("Host")).isEqualTo("localhost:" + gw.gateway().tlsPort());
    assertThat(seen.get("X-Forwarded-Proto")).isEqualTo("https");
    assertThat(seen.get("Via")).isEqualTo("2 keystone");
    assertThat(seen.get("X-Custom")).isEqualTo("v");
    assertThat(seen.getAll("Cookie")).containsExactly("a=1");
    assertThat(seen.names()).noneMatch(n -> n.startsWith(":") || n.toLowerCase().startsWith("x-http2"));
  }

  @Test
  void bodiesGoBothWaysWithAndWithoutALength() throws Exception {
    backend.handler(req -> req.body().onSuccess(b -> req.response()
        .putHeader("X-Length", String.valueOf(req.getHeader("Content-Length")))
        .end(Buffer.buffer("got ").appendBuffer(b))));
    byte[] big = new byte[300_000]; // beyond the stream's 64 KiB window: flow control both ways
    java.util.Arrays.fill(big, (byte) 'b');
    HttpResponse<String> known = client.send(HttpRequest.newBuilder(uri("/known"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(known.statusCode()).isEqualTo(200);
    assertThat(known.body()).hasSize(4 + big.length).startsWith("got bbb");
    assertThat(known.headers().firstValue("x-length")).hasValue(String.valueOf(big.length));

    HttpResponse<String> unknown = client.send(HttpRequest.newBuilder(uri("/unknown"))
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream("streamed".getBytes()))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(unknown.statusCode()).isEqualTo(200);
    assertThat(unknown.body()).isEqualTo("got streamed");
  }

  @Test
  void manyStreamsOnOneConnectionEachGetTheirOwnAnswer() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      all.add(client.sendAsync(HttpRequest.newBuilder(uri("/n/" + i)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    for (int i = 0; i < 60; i++) {
      HttpResponse<String> r = all.get(i).get();
      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(r.body()).isEqualTo("A /n/" + i);
    }
  }

  @Test
  void http11IsStillChosenByClientsThatAskForIt() throws Exception {
    HttpClient h1 = HttpClient.newBuilder().sslContext(ca.clientContext()).version(HttpClient.Version.HTTP_1_1).build();
    HttpResponse<String> r = h1.send(HttpRequest.newBuilder(uri("/one")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(r.body()).isEqualTo("A /one");
  }

  @Test
  void aMalformedStreamIsAnswered400AndTheConnectionGoesOn() throws Exception {
    int before = backend.requests();
    try (H2Wire h2 = new H2Wire(ca.clientContext(), gw.gateway().tlsPort(), "app.test")) {
      h2.headers(1, H2Wire.request("GET", "/a", "app.test", "x-evil", "v\r\nX-Injected: 1"), true);
      assertThat(h2.status(1)).isEqualTo(400);
      h2.headers(3, H2Wire.request("GET", "http://elsewhere.test/b", "app.test"), true);
      assertThat(h2.status(3)).isEqualTo(400);
      h2.headers(5, H2Wire.request("GET", "/c", "app.test", "host", "other.test"), true);
      assertThat(h2.status(5)).isEqualTo(400);
      h2.headers(7, H2Wire.request("GET", "/d d", "app.test"), true);
      assertThat(h2.status(7)).isEqualTo(400);
      h2.headers(9, H2Wire.request("CONNECT", "/", "app.test"), true);
      assertThat(h2.status(9)).isEqualTo(400);
      assertThat(backend.requests()).as("nothing malformed reached the backend").isEqualTo(before);
      h2.headers(11, H2Wire.request("GET", "/fine", "app.test"), true);
      assertThat(h2.status(11)).isEqualTo(200);
    }
    assertThat(backend.last().uri()).isEqualTo("/fine");
  }

  @Test
  void aGracefulStopSendsGoawayAndFinishesTheOpenStreams() throws Exception {
    java.util.concurrent.BlockingQueue<io.vertx.core.http.HttpServerRequest> held = new java.util.concurrent.LinkedBlockingQueue<>();
    backend.handler(held::add);
    try (H2Wire h2 = new H2Wire(ca.clientContext(), gw.gateway().tlsPort(), "app.test")) {
      h2.headers(1, H2Wire.request("GET", "/slow", "app.test"), true);
      var request = held.poll(10, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(request).isNotNull();
      var stopped = gw.gateway().shutdown();
      H2Wire.Frame goaway = h2.next(1);
      assertThat(goaway.type()).isEqualTo(H2Wire.GOAWAY);
      assertThat(goaway.errorCode()).as("NO_ERROR").isEqualTo(0);
      request.response().end("late but whole");
      assertThat(h2.status(1)).isEqualTo(200);
      H2Wire.Frame data = h2.next(1);
      assertThat(data.type()).isEqualTo(H2Wire.DATA);
      assertThat(new String(data.payload())).isEqualTo("late but whole");
      assertThat(h2.untilClosed()).isNull();
      stopped.toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  void cookiesAndRequestIdsSetByAnswersAreNeverAddedToHpacksTable() throws Exception {
    // RFC 7541 section 7.1.3: a cookie in HPACK's table can be guessed by whoever can make the
    // connection carry values of their own and watch the sizes; never-indexed literals keep it
    // out (and intermediaries must not index it either). The request id is new for every answer:
    // in the table it only pushed out the entries worth keeping.
    backend.handler(req -> req.response().putHeader("Set-Cookie", "sid=0123456789abcdef").putHeader("Content-Type", "text/plain")
        .end("fine"));
    try (H2Wire h2 = new H2Wire(ca.clientContext(), gw.gateway().tlsPort(), "app.test")) {
      for (int stream = 1; stream <= 3; stream += 2) {
        h2.headers(stream, H2Wire.request("GET", "/c", "app.test"), true);
        H2Wire.Frame head = h2.next(stream);
        java.util.List<String> names = new java.util.ArrayList<>();
        h2.decode(head).forEach(e -> names.add(e.getKey().toString()));
        String kinds = H2Wire.representations(head);
        assertThat(kinds).hasSize(names.size());
        java.util.Map<String, Character> kindOf = new java.util.HashMap<>();
        for (int i = 0; i < names.size(); i++) {
          kindOf.put(names.get(i), kinds.charAt(i));
        }
        assertThat(kindOf.get("set-cookie")).isEqualTo('N');
        assertThat(kindOf.get("x-request-id")).isEqualTo('N');
        assertThat(kindOf.get("content-type")).isEqualTo(stream == 1 ? 'A' : 'I'); // the rest are indexed as before
      }
    }
  }

  @Test
  void a204FromTheBackendLosesItsContentLengthOnTheWayToAnHttp2Client() throws Exception {
    // Attack s14-5: relayed as it was, HTTP/2 clients (curl, nghttp) refused the stream.
    try (dev.keystone.testing.RawBackend raw = new dev.keystone.testing.RawBackend(c -> {
      while (c.readRequest() != null) {
        c.write("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-Kept: 1\r\n\r\n");
      }
    }); TestGateway other = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        tenants:
          - name: app
            domains: [app.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
        """.formatted(cert.cert(), cert.key(), raw.url()));
         H2Wire h2 = new H2Wire(ca.clientContext(), other.gateway().tlsPort(), "app.test")) {
      h2.headers(1, H2Wire.request("GET", "/nothing", "app.test"), true);
      H2Wire.Frame head = h2.next(1);
      var headers = h2.decode(head);
      assertThat(headers.status().toString()).isEqualTo("204");
      assertThat(headers.get("x-kept").toString()).isEqualTo("1");
      assertThat(headers.contains("content-length")).as("content-length in " + headers).isFalse();
    }
  }
}
