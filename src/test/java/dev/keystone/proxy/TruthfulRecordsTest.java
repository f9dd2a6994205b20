package dev.keystone.proxy;

import dev.keystone.metrics.TenantTraffic;
import dev.keystone.testing.Await;
import dev.keystone.testing.LogCapture;
import dev.keystone.testing.RawBackend;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every request ends exactly once, with its true outcome, in the access log and in the metrics:
 * a client that left is not a 200, and a tenant a reload removed does not come back in the
 * metrics because one of its requests was still running.
 */
class TruthfulRecordsTest {

  private RawBackend backend;
  private TestGateway gw;
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void stop() {
    release.countDown();
    if (gw != null) {
      gw.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  private void start(RawBackend.Script script) {
    backend = new RawBackend(script);
    gw = TestGateway.start("""
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services: [{ name: b, url: "%1$s", health: /health }]
          - name: gone
            path_prefix: /gone/
            health_interval: 1h
            services: [{ name: g, url: "%1$s", health: /health }]
        """.formatted(backend.url()));
  }

  private TenantTraffic traffic(String tenant) {
    return gw.gateway().metrics().tenants().get(tenant);
  }

  /** The metrics are recorded just after the access log line: wait for them. */
  private TenantTraffic counted(String tenant) {
    Await.until("the request counted", () -> traffic(tenant) != null && traffic(tenant).total() == 1);
    return traffic(tenant);
  }

  @Test
  void aClientThatLeavesWhileTheBackendWorksIsAbortedNot200() {
    start(c -> {
      if (c.readRequest() != null) {
        release.await(20, TimeUnit.SECONDS);
        c.respond(200, "too late");
      }
    });
    try (LogCapture log = LogCapture.accessLog()) {
      try (RawHttp raw = gw.raw()) {
        raw.write("GET /t/wait HTTP/1.1\r\nHost: x\r\nX-Request-ID: left-early\r\n\r\n");
        Await.until("the backend has it", () -> backend.requests().size() == 1);
      }
      String line = log.awaitOne("request_id=left-early");
      release.countDown();
      assertThat(line).contains("status=aborted", "bytes=0", "backend=b");
      assertThat(counted("t").requestsWithCode(5)).isEqualTo(1);
      assertThat(traffic("t").requestsWithCode(1)).isZero();
    }
  }

  @Test
  void aClientThatLeavesHalfWayThroughTheBodyIsAborted() {
    start(c -> {
      if (c.readRequest() != null) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + "x".repeat(1000));
        release.await(20, TimeUnit.SECONDS);
      }
    });
    try (LogCapture log = LogCapture.accessLog()) {
      try (RawHttp raw = gw.raw()) {
        raw.write("GET /t/long HTTP/1.1\r\nHost: x\r\nX-Request-ID: left-mid-body\r\n\r\n").readUntil("xxxx");
      }
      String line = log.awaitOne("request_id=left-mid-body");
      assertThat(line).contains("status=aborted");
      assertThat(counted("t").requestsWithCode(5)).isEqualTo(1);
      assertThat(traffic("t").requestsWithCode(1)).isZero();
    }
  }

  @Test
  void aCompleteResponseIsRecordedOnceWithItsStatus() {
    start(c -> {
      RawBackend.Request r;
      while ((r = c.readRequest()) != null) {
        c.respond(201, "made " + r.target());
      }
    });
    try (LogCapture log = LogCapture.accessLog()) {
      assertThat(gw.get("/t/new", "X-Request-ID", "made-one").statusCode()).isEqualTo(201);
      String line = log.awaitOne("request_id=made-one");
      assertThat(line).contains("status=201", "bytes=9");
      // (the tenant's metrics appear just after the access log line: null until then)
      Await.until("counted", () -> traffic("t") != null && traffic("t").requestsWithCode(1) == 1);
      assertThat(traffic("t").total()).isEqualTo(1);
      assertThat(gw.gateway().metrics().inFlight()).isZero();
    }
  }

  @Test
  void aTenantRemovedByAReloadStaysGoneFromTheMetrics() throws Exception {
    start(c -> {
      if (c.readRequest() != null) {
        release.await(20, TimeUnit.SECONDS);
        c.respond(200, "late");
      }
    });
    CompletableFuture<HttpResponse<String>> inFlight = gw.http().sendAsync(
        HttpRequest.newBuilder(URI.create(gw.base() + "/gone/x")).build(), HttpResponse.BodyHandlers.ofString());
    Await.until("the backend has it", () -> backend.requests().size() == 1);
    String config = Files.readString(gw.file());
    gw.rewrite(config.substring(0, config.indexOf("  - name: gone")) + config.substring(config.indexOf("admin:")));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    release.countDown();
    assertThat(inFlight.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    Await.until("the request has ended", () -> gw.gateway().metrics().inFlight() == 0);
    assertThat(gw.gateway().metrics().tenants()).doesNotContainKey("gone");
    assertThat(gw.admin("GET", "/metrics").body()).doesNotContain("tenant=\"gone\"");
  }
}
