package dev.keystone.app;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** keystone status, reload and backends drain|undrain against a running gateway's admin API. */
class AdminCommandTest {

  Vertx vertx;
  TestBackend blue;
  TestBackend green;
  TestGateway gw;
  final ByteArrayOutputStream out = new ByteArrayOutputStream();
  final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    blue = new TestBackend(vertx, "blue");
    green = new TestBackend(vertx, "green");
    gw = TestGateway.start(config(""));
    Await.until("healthy", () -> gw.gateway().snapshot().tenants().get(0).pool().healthyCount() == 2);
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  private String config(String extra) {
    return """
        tenants:
          - name: shop
            path_prefix: /shop/
            health_interval: 200ms
            services:
              - { name: blue, url: "%s", health: /health }
              - { name: green, url: "%s", health: /health }
        """.formatted(blue.url(), green.url()) + extra;
  }

  private int keystone(Map<String, String> env, String... args) {
    out.reset();
    err.reset();
    return new AdminCommand(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
        env::get).run(args);
  }

  private int keystone(String... args) {
    return keystone(Map.of("KEYSTONE_ADMIN_TOKEN", TestGateway.ADMIN_TOKEN, "KEYSTONE_ADMIN_URL", gw.adminBase()), args);
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void statusShowsTenantsAndBackendHealth() {
    gw.get("/shop/x");
    assertThat(keystone("status")).isEqualTo(0);
    assertThat(out()).contains("keystone test").contains("config version 1").contains("backends: 2 healthy of 2")
        .contains("tenant shop").contains("healthy    blue").contains(blue.url());
    assertThat(keystone("status", "nothing-like-it")).isEqualTo(0);
    assertThat(out()).contains("keystone test").doesNotContain("tenant shop");
    assertThat(keystone("status", "SHO")).isEqualTo(0);
    assertThat(out()).contains("tenant shop");
    assertThat(keystone("status", "--json")).isEqualTo(0);
    assertThat(new io.vertx.core.json.JsonObject(out()).getJsonArray("tenants").getJsonObject(0).getString("name")).isEqualTo("shop");
  }

  @Test
  void certsListsTheServedCertificatesOrSaysThereIsNoTlsListener(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    assertThat(keystone("certs")).isEqualTo(0);
    assertThat(out()).isEqualTo("no TLS listener (tls_listen) in the running config" + System.lineSeparator());
    var shop = dev.keystone.testing.TestCertificates.in(dir).issue("shop", "shop.test");
    gw.close();
    gw = TestGateway.start("tls_listen: 127.0.0.1:0\n" + config("").replace("    path_prefix: /shop/\n",
        "    domains: [shop.test]\n    tls: { cert: \"" + shop.cert() + "\", key: \"" + shop.key() + "\" }\n"));
    assertThat(keystone("certs")).isEqualTo(0);
    assertThat(out()).startsWith("TLS listening on 127.0.0.1:" + gw.gateway().tlsPort() + System.lineSeparator())
        .containsPattern("  shop +1 days SOON  \\S+Z  \\[\"shop.test\"\\]");
    assertThat(keystone("certs", "--json")).isEqualTo(0);
    assertThat(new io.vertx.core.json.JsonObject(out()).getJsonArray("certificates").getJsonObject(0).getString("tenant"))
        .isEqualTo("shop");
    // renew: only for tls: auto, whose orders the gateway makes (the ordering itself: TlsAutoTest)
    assertThat(keystone("certs", "renew", "shop", "--revoke")).isEqualTo(1);
    assertThat(err()).startsWith("keystone: tenant shop does not have tls: auto (a certificate from files is replaced by writing its files)");
    assertThat(keystone("certs", "renew", "nobody")).isEqualTo(1);
    assertThat(err()).startsWith("keystone: no tenant named 'nobody'");
    assertThat(keystone("certs", "renew")).isEqualTo(2);
  }

  @Test
  void drainAndUndrainByName() {
    assertThat(keystone("backends", "drain", "blue")).isEqualTo(0);
    assertThat(out()).contains("drained blue (" + blue.url() + ") in tenant shop");
    for (int i = 0; i < 4; i++) {
      assertThat(gw.get("/shop/x").body()).startsWith("green ");
    }
    assertThat(keystone("status")).isEqualTo(0);
    assertThat(out()).contains("DRAINED    blue");
    assertThat(keystone("backends", "undrain", "blue", "--tenant", "shop")).isEqualTo(0);
    assertThat(gw.get("/shop/x").body() + gw.get("/shop/x").body()).contains("blue ").contains("green ");
    assertThat(keystone("backends", "drain", "nobody")).isEqualTo(1);
    assertThat(err()).contains("no backend named 'nobody'");
  }

  @Test
  void reloadReportsTheNewVersionOrEveryError() {
    gw.rewrite(config("    oops: true\n"));
    assertThat(keystone("reload")).isEqualTo(1);
    assertThat(err()).contains("reload rejected, still serving config version 1").contains("oops");
    gw.rewrite(config(""));
    assertThat(keystone("reload")).isEqualTo(0);
    assertThat(out()).containsPattern("config version \\d+ applied");
  }

  @Test
  void tokenFromAFileAndClearFailures() throws Exception {
    Path file = Files.createTempFile("token", ".txt");
    try {
      Files.writeString(file, TestGateway.ADMIN_TOKEN + "\n");
      assertThat(keystone(Map.of(), "status", "--admin", gw.adminBase(), "--token-file", file.toString())).isEqualTo(0);
      Files.writeString(file, "wrong-token-0123456789\n");
      assertThat(keystone(Map.of(), "status", "--admin", gw.adminBase(), "--token-file", file.toString())).isEqualTo(3);
      assertThat(err()).contains("refused the token");
    } finally {
      Files.delete(file);
    }
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    assertThat(keystone(Map.of("KEYSTONE_ADMIN_TOKEN", "x"), "status", "--admin", "http://127.0.0.1:" + closedPort)).isEqualTo(3);
    assertThat(err()).contains("cannot reach the admin API");
    assertThat(keystone(Map.of("KEYSTONE_ADMIN_TOKEN", "x"), "frobnicate")).isEqualTo(2);
    assertThat(keystone("backends", "list")).isEqualTo(2);
  }

  @Test
  void aRolloutIsStartedShownAndAbortedFromTheCommandLine() {
    assertThat(keystone("rollout", "start", "shop", "--canary", "green", "--steps", "10,100", "--interval", "1h",
        "--max-5xx", "2%", "--max-p99", "300ms", "--min-requests", "50", "--pin-cookie", "session")).isEqualTo(0);
    assertThat(out()).startsWith("shop: canary green running, step 1 of 2 at 10%");
    assertThat(keystone("rollout", "status", "shop", "--json")).isEqualTo(0);
    assertThat(out()).contains("\"max_5xx_percent\" : 2.0").contains("\"max_p99_ms\" : 300")
        .contains("\"min_requests\" : 50").contains("\"pin_cookie\" : \"session\"");
    assertThat(keystone("rollout", "start", "shop", "--canary", "green")).isEqualTo(1);
    assertThat(err()).contains("tenant shop has a rollout running (canary green): abort or promote it first");
    assertThat(keystone("rollout", "abort", "shop")).isEqualTo(0);
    assertThat(out()).startsWith("shop: canary green aborted");
    assertThat(keystone("rollout", "status", "shop")).isEqualTo(1); // (for CI: the rollout did not succeed)
    assertThat(keystone("rollout", "start", "shop", "--canary", "green", "--steps", "50,25")).isEqualTo(1);
    assertThat(err()).contains("steps: each between 1 and 100 and above the one before");
    assertThat(keystone("rollout", "status", "--canary", "green")).isEqualTo(2);
    assertThat(keystone("rollout", "pause")).isEqualTo(2);
  }
}
