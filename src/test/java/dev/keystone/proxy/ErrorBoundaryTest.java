package dev.keystone.proxy;

import dev.keystone.gateway.GatewayOptions;
import dev.keystone.gateway.Gateway;
import dev.keystone.testing.LogCapture;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One error boundary per request: whatever throws, wherever, the client gets exactly one answer
 * (500 naming the request id) or, once a response has started, a closed connection. Never a
 * hang, never two answers. Shown with interceptors plugged in that misbehave on purpose.
 */
class ErrorBoundaryTest {

  Vertx vertx;
  TestBackend backend;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "b");
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  /** A plug-in that misbehaves on paths it knows, and passes everything else on. */
  static final Interceptor FAULTY = ex -> {
    switch (ex.path()) {
      case "/t/throw" -> throw new IllegalStateException("thrown at once");
      case "/t/throw-later" -> ex.later(() -> {
        throw new IllegalStateException("thrown in a callback");
      });
      case "/t/head-then-throw" -> {
        ex.response().write(io.netty.buffer.Unpooled.copiedBuffer("partial", java.nio.charset.StandardCharsets.UTF_8));
        throw new IllegalStateException("thrown after the head");
      }
      case "/t/twice" -> {
        ex.fail(ProxyError.NOT_FOUND, "first answer");
        ex.fail(ProxyError.UPSTREAM_FAILED, "second answer");
        ex.next();
      }
      case "/t/stuck" -> {
        // neither answers nor goes on: a bug the backstop must end
      }
      default -> ex.next();
    }
  };

  private void gateway() {
    gw = TestGateway.start("""
        timeouts: { connect: 200ms, pool_wait: 200ms, response_header: 500ms, idle: 500ms }
        tenants:
          - name: t
            path_prefix: /t/
            services: [{ name: b, url: "%s" }]
        """.formatted(backend.url()), Map.of(),
        new GatewayOptions(2, "test", Clock.systemUTC()).withInterceptors(List.of(FAULTY)));
  }

  private RawHttp.Response twoRequests(RawHttp raw, String path, String id) {
    raw.write("GET " + path + " HTTP/1.1\r\nHost: x\r\nX-Request-ID: " + id + "\r\n\r\n"
        + "GET /t/fine HTTP/1.1\r\nHost: x\r\n\r\n");
    return raw.readResponse(false);
  }

  @Test
  void anExceptionAtOnceIs500WithTheRequestId() {
    gateway();
    try (RawHttp raw = gw.raw()) {
      RawHttp.Response r = twoRequests(raw, "/t/throw", "e1");
      assertThat(r.status()).isEqualTo(500);
      assertThat(r.body()).isEqualTo("500 Internal Server Error (request id e1)\n");
      assertThat(raw.readResponse(false).body()).as("the connection goes on").isEqualTo("b /fine");
    }
  }

  @Test
  void anExceptionInACallbackIs500WithTheRequestId() {
    gateway();
    try (RawHttp raw = gw.raw()) {
      RawHttp.Response r = twoRequests(raw, "/t/throw-later", "e2");
      assertThat(r.status()).isEqualTo(500);
      assertThat(r.body()).isEqualTo("500 Internal Server Error (request id e2)\n");
      assertThat(raw.readResponse(false).body()).isEqualTo("b /fine");
    }
  }

  @Test
  void anExceptionAfterTheHeadClosesTheConnection() {
    gateway();
    try (LogCapture log = LogCapture.accessLog(); RawHttp raw = gw.raw()) {
      raw.write("GET /t/head-then-throw HTTP/1.1\r\nHost: x\r\nX-Request-ID: e3\r\n\r\n");
      String all = raw.readUntilClose();
      assertThat(all).startsWith("HTTP/1.1 200 OK").contains("partial").doesNotContain("0\r\n\r\n");
      assertThat(log.awaitOne("request_id=e3")).contains("error=\"internal error: java.lang.IllegalStateException: thrown after the head\"");
    }
  }

  @Test
  void aSecondAnswerIsNeverWritten() {
    gateway();
    try (LogCapture log = LogCapture.accessLog(); RawHttp raw = gw.raw()) {
      RawHttp.Response r = twoRequests(raw, "/t/twice", "e4");
      assertThat(r.status()).isEqualTo(404);
      assertThat(raw.readResponse(false).body()).as("the next response is the next request's").isEqualTo("b /fine");
      assertThat(log.awaitOne("request_id=e4")).contains("status=404");
    }
    assertThat(backend.requests()).as("the faulty request never reached the backend").isEqualTo(1);
  }

  @Test
  void aRequestNobodyAnswersIsEndedByTheBackstop() {
    gateway();
    try (LogCapture errors = LogCapture.of("keystone.proxy"); RawHttp raw = gw.raw()) {
      RawHttp.Response r = twoRequests(raw, "/t/stuck", "e5");
      assertThat(r.status()).isEqualTo(500);
      assertThat(r.body()).isEqualTo("500 Internal Server Error (request id e5)\n");
      assertThat(errors.lines()).anyMatch(l -> l.contains("e5") && l.contains("no progress"));
    }
  }
}
