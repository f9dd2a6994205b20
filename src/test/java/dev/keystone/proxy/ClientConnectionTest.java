package dev.keystone.proxy;

import dev.keystone.testing.RawBackend;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client's connection: the idle timeout applies between requests only, an answer given
 * before the request body was read never wedges the connection, and every response is framed,
 * HTTP/1.0 clients included.
 */
class ClientConnectionTest {

  private final List<AutoCloseable> open = new ArrayList<>();
  private TestGateway gw;

  @AfterEach
  void stop() throws Exception {
    if (gw != null) {
      gw.close();
    }
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  private RawBackend backend(RawBackend.Script script) {
    RawBackend b = new RawBackend(script);
    open.add(b);
    return b;
  }

  private static RawBackend.Script answersAfter(long millis) {
    return c -> {
      RawBackend.Request r;
      while ((r = c.readRequest()) != null) {
        TimeUnit.MILLISECONDS.sleep(millis);
        c.respond(200, "late " + r.target());
      }
    };
  }

  private void gateway(String timeouts, String url) throws Exception {
    int dead;
    try (ServerSocket s = new ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    gw = TestGateway.start(timeouts + """
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services: [{ name: b, url: "%s", health: /health }]
          - name: dead
            path_prefix: /dead/
            health_interval: 1h
            services: [{ name: d, url: "http://127.0.0.1:%d", health: /health }]
        """.formatted(url, dead));
  }

  @Test
  void theIdleTimeoutDoesNotCutARequestWaitingForItsBackend() throws Exception {
    RawBackend b = backend(answersAfter(1200));
    gateway("timeouts: { idle: 300ms, response_header: 5s }\n", b.url());
    try (RawHttp raw = gw.raw()) {
      raw.write("GET /t/slow HTTP/1.1\r\nHost: x\r\n\r\n");
      RawHttp.Response r = raw.readResponse(false);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("late /slow");
      // and between requests it still applies
      assertThat(raw.closedByServer()).as("closed once idle after the answer").isTrue();
    }
  }

  @Test
  void aSilentBackendIs504EvenWhenIdleIsNoLonger() throws Exception {
    RawBackend b = backend(c -> {
      if (c.readRequest() != null) {
        c.readHead(); // never answers
      }
    });
    gateway("timeouts: { idle: 400ms, response_header: 400ms }\n", b.url());
    try (RawHttp raw = gw.raw()) {
      raw.write("GET /t/silent HTTP/1.1\r\nHost: x\r\nX-Request-ID: silent\r\n\r\n");
      RawHttp.Response r = raw.readResponse(false);
      assertThat(r.status()).isEqualTo(504);
      assertThat(r.body()).isEqualTo("504 Gateway Timeout (request id silent)\n");
    }
  }

  @Test
  void aLargeUnreadBodyAfterAnErrorClosesTheConnectionCleanly() throws Exception {
    RawBackend b = backend(answersAfter(0));
    gateway("", b.url());
    try (RawHttp raw = gw.raw()) {
      int size = 4 * 1024 * 1024;
      raw.write("POST /dead/x HTTP/1.1\r\nHost: x\r\nContent-Length: " + size + "\r\n\r\n");
      Thread writer = new Thread(() -> {
        try {
          raw.write(new byte[size]);
          raw.write("GET /t/after HTTP/1.1\r\nHost: x\r\n\r\n");
        } catch (RuntimeException e) {
          // the gateway stops reading: expected
        }
      });
      writer.setDaemon(true);
      writer.start();
      RawHttp.Response r = raw.readResponse(false);
      assertThat(r.status()).isEqualTo(502);
      assertThat(r.header("Connection")).isEqualTo("close");
      assertThat(raw.closedByServer()).as("not wedged: closed, never silent").isTrue();
    }
    assertThat(b.requests()).as("the bytes after the unread body are never taken for a request").isEmpty();
  }

  @Test
  void aSmallUnreadBodyAfterAnErrorIsSkippedAndTheConnectionGoesOn() throws Exception {
    RawBackend b = backend(answersAfter(0));
    gateway("", b.url());
    try (RawHttp raw = gw.raw()) {
      raw.write("POST /dead/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" + "z".repeat(10000)
          + "GET /t/after HTTP/1.1\r\nHost: x\r\n\r\n");
      RawHttp.Response first = raw.readResponse(false);
      assertThat(first.status()).isEqualTo(502);
      RawHttp.Response second = raw.readResponse(false);
      assertThat(second.status()).isEqualTo(200);
      assertThat(second.body()).isEqualTo("late /after");
    }
  }

  @Test
  void http10KeepAliveClientsGetFramedResponses() throws Exception {
    RawBackend b = backend(c -> {
      RawBackend.Request r;
      while ((r = c.readRequest()) != null) {
        if (r.target().equals("/chunked")) {
          c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        } else {
          c.respond(200, "sized");
        }
      }
    });
    gateway("", b.url());
    try (RawHttp raw = gw.raw()) {
      raw.write("GET /t/sized HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      RawHttp.Response sized = raw.readResponse(false);
      assertThat(sized.body()).isEqualTo("sized");
      assertThat(sized.header("Connection")).as("a sized answer keeps the connection").isEqualToIgnoringCase("keep-alive");
      raw.write("GET /t/chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      RawHttp.Response unsized = raw.readResponse(false);
      assertThat(unsized.header("Transfer-Encoding")).as("HTTP/1.0 has no chunked encoding").isNull();
      assertThat(unsized.header("Connection")).isEqualToIgnoringCase("close");
      assertThat(unsized.body()).as("the end of the body is the end of the connection").isEqualTo("hello world");
    }
  }
}
