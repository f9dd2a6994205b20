package dev.keystone.proxy;

import dev.keystone.testing.Await;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.WebSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Bodies, special statuses, server-sent events and WebSockets through the proxy. */
class StreamingTest {

  static Vertx vertx;
  static TestBackend backend;
  static TestGateway gw;
  static volatile Promise<Void> sseRelease;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "s").handler(req -> {
      switch (req.path()) {
        case "/echo" -> req.body().onSuccess(b -> req.response().end(b));
        case "/chunked" -> {
          req.response().setChunked(true);
          req.response().write("one,");
          req.response().write("two,");
          req.response().end("three");
        }
        case "/nocontent" -> req.response().setStatusCode(204).end();
        case "/notmodified" -> req.response().setStatusCode(304).putHeader("ETag", "\"v1\"").end();
        case "/head" -> req.response().putHeader("Content-Length", "1234").end();
        case "/sse" -> {
          req.response().setChunked(true).putHeader("Content-Type", "text/event-stream");
          req.response().write("data: first\n\n");
          sseRelease.future().onComplete(v -> req.response().end("data: second\n\n"));
        }
        case "/hints" -> req.response().writeEarlyHints(io.vertx.core.http.HttpHeaders.headers()
            .add("Link", "</style.css>; rel=preload; as=style"))
            .onComplete(v -> req.response().end("after hints"));
        case "/continue" -> {
          req.response().writeContinue();
          req.body().onSuccess(b -> req.response().end("got " + b.length()));
        }
        default -> req.response().end("default");
      }
    });
    vertx.createHttpServer().webSocketHandler(ws -> ws.handler(buf -> ws.writeTextMessage("echo:" + buf)))
        .listen(0, "127.0.0.1").onSuccess(s -> wsPort = s.actualPort()).await();
    gw = TestGateway.start("""
        tenants:
          - name: s
            path_prefix: /s/
            services: [{ name: s, url: "%s" }]
          - name: ws
            path_prefix: /ws/
            services: [{ name: ws, url: "http://127.0.0.1:%d" }]
        """.formatted(backend.url(), wsPort));
  }

  static volatile int wsPort;

  @AfterAll
  static void stop() {
    gw.close();
    vertx.close();
  }

  @Test
  void requestBodiesArriveIntact() {
    String body = "x".repeat(100_000);
    HttpResponse<String> r = gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/s/echo"))
        .POST(HttpRequest.BodyPublishers.ofString(body)));
    assertThat(r.body()).isEqualTo(body);
    assertThat(backend.last().headers().get("Content-Length")).isEqualTo("100000");
  }

  @Test
  void chunkedRequestBodiesStayChunked() {
    try (RawHttp raw = gw.raw()) {
      String resp = raw.write("POST /s/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").readUntil("hello world");
      assertThat(RawHttp.status(resp)).isEqualTo(200);
    }
    assertThat(backend.last().headers().get("Transfer-Encoding")).isEqualTo("chunked");
  }

  @Test
  void chunkedResponsesStream() {
    HttpResponse<String> r = gw.get("/s/chunked");
    assertThat(r.body()).isEqualTo("one,two,three");
  }

  @Test
  void headAndBodylessStatuses() {
    HttpResponse<String> head = gw.send(HttpRequest.newBuilder(URI.create(gw.base() + "/s/head"))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()));
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.headers().firstValue("Content-Length")).hasValue("1234");
    assertThat(head.body()).isEmpty();
    assertThat(gw.get("/s/nocontent").statusCode()).isEqualTo(204);
    HttpResponse<String> nm = gw.get("/s/notmodified");
    assertThat(nm.statusCode()).isEqualTo(304);
    assertThat(nm.headers().firstValue("ETag")).hasValue("\"v1\"");
    // the connection is still usable after each of these
    assertThat(gw.get("/s/other").body()).isEqualTo("default");
  }

  @Test
  void hundredContinueIsRelayed() {
    try (RawHttp raw = gw.raw()) {
      String interim = raw.write("POST /s/continue HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
          .readUntil("\r\n\r\n");
      assertThat(interim).startsWith("HTTP/1.1 100 Continue");
      String resp = raw.write("abcde").readUntil("got 5");
      assertThat(resp).contains("200 OK");
    }
  }

  @Test
  void earlyHintsAreRelayedBeforeTheResponse() {
    try (RawHttp raw = gw.raw()) {
      String resp = raw.write("GET /s/hints HTTP/1.1\r\nHost: x\r\n\r\n").readUntil("after hints");
      assertThat(resp).startsWith("HTTP/1.1 103 Early Hints").contains("</style.css>; rel=preload; as=style");
      assertThat(resp.indexOf("HTTP/1.1 200")).isGreaterThan(resp.indexOf("103"));
    }
  }

  @Test
  void serverSentEventsAreNotDelayed() throws Exception {
    sseRelease = Promise.promise();
    HttpResponse<InputStream> r = gw.http().send(HttpRequest.newBuilder(URI.create(gw.base() + "/s/sse")).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
      // the backend holds the second event until the first has reached the client
      assertThat(in.readLine()).isEqualTo("data: first");
      sseRelease.complete();
      assertThat(in.readLine()).isEmpty();
      assertThat(in.readLine()).isEqualTo("data: second");
    }
  }

  @Test
  void webSocketsAreProxied() throws Exception {
    WebSocket ws = gw.webSocket(vertx, "/ws/chat");
    CompletableFuture<String> reply = new CompletableFuture<>();
    ws.textMessageHandler(reply::complete);
    ws.writeTextMessage("hi");
    assertThat(reply.get(10, TimeUnit.SECONDS)).isEqualTo("echo:hi");
    ws.close().await(5, TimeUnit.SECONDS);
  }
}
