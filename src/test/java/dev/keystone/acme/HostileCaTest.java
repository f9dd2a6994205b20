package dev.keystone.acme;

import dev.keystone.model.AcmeTokens;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.shredzone.acme4j.exception.AcmeException;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * A CA that answers with a huge body or never finishes one fails the order, within the exchange
 * deadline, instead of ending the gateway or holding the ACME thread (attack s13b-1, -2).
 */
class HostileCaTest {

  static Vertx vertx;
  static HttpServer ca;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    // HTTP/1.1 only: acme4j's client (the JDK's, HTTP/2 first) asks a plain-HTTP server to
    // upgrade to h2c, and Vert.x's upgraded answer of 3 MiB once came with a DATA frame on stream
    // 0 (CI: "zero streamId for DataFrame" instead of the size limit). Real CAs speak HTTPS.
    ca = vertx.createHttpServer(new io.vertx.core.http.HttpServerOptions().setHttp2ClearTextEnabled(false)).requestHandler(req -> {
      req.response().putHeader("Content-Type", "application/json");
      if (req.path().equals("/huge")) {
        req.response().setChunked(true);
        Buffer mib = Buffer.buffer(new byte[1 << 20]);
        for (int i = 0; i < 3; i++) {
          req.response().write(mib);
        }
        req.response().end();
      } else { // /stall: the head and a first byte, then nothing
        req.response().setChunked(true).write("{");
      }
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().join();
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  private AcmeIssuer issuer(String path) throws Exception {
    return new AcmeIssuer(URI.create("http://127.0.0.1:" + ca.actualPort() + path), null, AcmeStore.newKey(), null,
        new AcmeTokens(), Duration.ofSeconds(2));
  }

  @Test
  void aHugeAnswerFailsTheOrder() {
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertThatThrownBy(
        () -> issuer("/huge").issue(List.of("a.test"), AcmeStore.newKey()))
        .isInstanceOf(AcmeException.class).hasStackTraceContaining("the CA's answer is larger than 1024 KiB"));
  }

  @Test
  void anAnswerThatNeverEndsFailsTheOrderAtTheDeadline() {
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertThatThrownBy(
        () -> issuer("/stall").issue(List.of("a.test"), AcmeStore.newKey()))
        .isInstanceOf(AcmeException.class).hasStackTraceContaining("the CA did not send its whole answer within 2 s"));
  }
}
