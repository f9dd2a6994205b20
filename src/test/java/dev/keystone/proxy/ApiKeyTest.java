package dev.keystone.proxy;

import dev.keystone.testing.LogCapture;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * API keys (issue 17) from a keys file: checked per tenant with scopes, the key never forwarded,
 * its name to the backend and the access log; made and revoked through the admin API.
 */
class ApiKeyTest {

  Vertx vertx;
  TestBackend backend;
  TestGateway gw;

  /** The gateway's: rate-limit windows and key expiry (a real second could pass before the first use). */
  final dev.keystone.testing.TestClock clock = new dev.keystone.testing.TestClock(java.time.Instant.parse("2026-12-07T10:00:10Z"));

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "b");
    Path dir = Files.createTempDirectory("keys");
    Files.writeString(dir.resolve("keys.json"), "{\"keys\": []}");
    gw = TestGateway.start("""
        api_keys_file: %s
        tenants:
          - name: orders
            path_prefix: /orders/
            api_key: { scopes: [orders:read] }
            rate_limits: [{ limit: 2, window: 1m, key: api_key }]
            services: [{ name: b, url: "%s" }]
          - name: open
            path_prefix: /open/
            services: [{ name: b, url: "%s" }]
        """.formatted(dir.resolve("keys.json"), backend.url(), backend.url()), java.util.Map.of(),
        // a test clock: the rate limit's window is a whole minute, which real time may cross mid-test
        new dev.keystone.gateway.GatewayOptions(2, "test", clock));
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  String create(String body) throws Exception {
    HttpResponse<String> r = gw.http().send(HttpRequest.newBuilder(URI.create(gw.adminBase() + "/api/v1/keys"))
        .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return new JsonObject(r.body()).getString("key");
  }

  @Test
  void aKeyOpensItsTenantWithItsScopesAndNeverReachesTheBackend() throws Exception {
    String reader = create("{\"name\": \"acme-reader\", \"tenants\": [\"orders\"], \"scopes\": [\"orders:read\"]}");
    String other = create("{\"name\": \"no-scope\", \"tenants\": [\"orders\"]}");
    String elsewhere = create("{\"name\": \"elsewhere\", \"tenants\": [\"billing\"], \"scopes\": [\"orders:read\"]}");
    assertThat(reader).matches("ks_[A-Za-z0-9_-]{43}");

    HttpResponse<String> none = gw.get("/orders/x");
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("ApiKey header=\"X-Api-Key\"");
    assertThat(gw.get("/orders/x", "X-Api-Key", "ks_wrong").statusCode()).isEqualTo(401);
    assertThat(gw.get("/orders/x", "X-Api-Key", other).statusCode()).isEqualTo(403);
    assertThat(gw.get("/orders/x", "X-Api-Key", elsewhere).statusCode()).isEqualTo(403);
    assertThat(backend.requests()).isZero();

    try (LogCapture log = LogCapture.accessLog()) {
      HttpResponse<String> ok = gw.get("/orders/x", "X-Api-Key", reader, "X-Api-Key-Name", "forged");
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(backend.last().headers().get("X-Api-Key-Name")).isEqualTo("acme-reader");
      assertThat(backend.last().headers().contains("X-Api-Key")).isFalse();
      String line = log.awaitOne("path=/orders/x status=200");
      assertThat(line).contains(" api_key=acme-reader").doesNotContain(reader);
    }
    // a name header from the client never reaches any backend
    gw.get("/open/x", "X-Api-Key-Name", "forged");
    assertThat(backend.last().headers().contains("X-Api-Key-Name")).isFalse();

    // counted by key: the reader's second request passes, its third is refused
    assertThat(gw.get("/orders/x", "X-Api-Key", reader).statusCode()).isEqualTo(200);
    assertThat(gw.get("/orders/x", "X-Api-Key", reader).statusCode()).isEqualTo(429);

    // the list shows names, never keys or hashes
    String list = gw.admin("GET", "/api/v1/keys").body();
    assertThat(list).contains("acme-reader").doesNotContain(reader).doesNotContain(dev.keystone.policy.ApiKeyCodec.sha256(reader));

    assertThat(gw.admin("DELETE", "/api/v1/keys/acme-reader").statusCode()).isEqualTo(200);
    assertThat(gw.get("/orders/x", "X-Api-Key", reader).statusCode()).isEqualTo(401);
    assertThat(gw.admin("DELETE", "/api/v1/keys/acme-reader").statusCode()).isEqualTo(404);
  }

  @Test
  void aNameIsTakenOnceAndAnExpiredKeyNoLongerOpens() throws Exception {
    create("{\"name\": \"k1\", \"tenants\": [\"*\"], \"scopes\": [\"orders:read\"]}");
    HttpResponse<String> again = gw.http().send(HttpRequest.newBuilder(URI.create(gw.adminBase() + "/api/v1/keys"))
        .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"k1\", \"tenants\": [\"*\"]}")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(again.body()).contains("a key named k1 exists");
    assertThat(gw.admin("POST", "/api/v1/keys").statusCode()).isEqualTo(400);

    String brief = create("{\"name\": \"brief\", \"tenants\": [\"orders\"], \"scopes\": [\"orders:read\"], \"expires_in\": \"1s\"}");
    assertThat(gw.get("/orders/x", "X-Api-Key", brief).statusCode()).isEqualTo(200);
    clock.advance(java.time.Duration.ofMillis(999));
    assertThat(gw.get("/orders/x", "X-Api-Key", brief).statusCode()).as("a millisecond left").isEqualTo(200);
    clock.advance(java.time.Duration.ofMillis(2));
    assertThat(gw.get("/orders/x", "X-Api-Key", brief).statusCode()).as("expired").isEqualTo(401);
  }

  /** Attack s18-policy F7: concurrent writes failed with an empty error; a tenant name with a newline, a 292-million-year key. */
  @Test
  void concurrentKeyWritesAllLandAndHostileFieldsAreRefused() throws Exception {
    java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < 20; i++) {
      calls.add(gw.http().sendAsync(HttpRequest.newBuilder(URI.create(gw.adminBase() + "/api/v1/keys"))
          .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
          .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"c" + i + "\", \"tenants\": [\"orders\"]}")).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    for (var c : calls) {
      assertThat(c.get().statusCode()).as(c.get().body()).isEqualTo(201);
    }
    assertThat(new JsonObject(gw.admin("GET", "/api/v1/keys").body()).getJsonArray("keys").size()).isEqualTo(20);
    for (String body : new String[] {"{\"name\": \"n\", \"tenants\": [\"ke\\nyt\"]}",
        "{\"name\": \"n\", \"tenants\": [\"orders\"], \"expires_in\": \"999999999999d\"}"}) {
      HttpResponse<String> r = gw.http().send(HttpRequest.newBuilder(URI.create(gw.adminBase() + "/api/v1/keys"))
          .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(body).isEqualTo(400);
    }
  }

  /** Attack s18-policy F6: a keys file that is not one was quoted in the error (any file the gateway can read). */
  @Test
  void aFileThatIsNotAKeysFileIsNotQuoted() throws Exception {
    Path dir = Files.createTempDirectory("secret");
    Files.writeString(dir.resolve("secret"), "sk_live_51HxyzVerySecret and more\n");
    String yaml = "api_keys_file: " + dir.resolve("secret") + "\ntenants: [{ name: a, path_prefix: /a/, services: [{ name: b, url: \"http://127.0.0.1:1\" }] }]\n";
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new dev.keystone.config.ConfigLoader().parse(yaml, "c.yaml"))
        .hasMessageContaining("secret: not a keys file (JSON {\"keys\": [...]}): stopped at line 1, column")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("sk_live"));
  }

  /** Attack s18-policy F5: a custom forward_as (and forward_claims) header from a client passed through other tenants. */
  @Test
  void headersOnlyTheGatewaySetsAreRemovedForEveryTenant() {
    gw.close();
    gw = TestGateway.start("""
        tenants:
          - name: other
            path_prefix: /other/
            api_key: { forward_as: X-Client }
            services: [{ name: b, url: "%1$s" }]
          - name: account
            path_prefix: /account/
            jwt: { issuer: x, audiences: [y], algorithms: [HS256], secret: "0123456789abcdef0123456789abcdef", forward_claims: { sub: X-User-Id } }
            services: [{ name: b, url: "%1$s" }]
          - name: plain
            path_prefix: /plain/
            services: [{ name: b, url: "%1$s" }]
        """.formatted(backend.url()));
    assertThat(gw.get("/plain/x", "X-Client", "forged", "X-User-Id", "admin", "X-Api-Key-Name", "forged", "X-Other", "kept")
        .statusCode()).isEqualTo(200);
    var seen = backend.last().headers();
    assertThat(seen.contains("X-Client")).isFalse();
    assertThat(seen.contains("X-User-Id")).isFalse();
    assertThat(seen.contains("X-Api-Key-Name")).isFalse();
    assertThat(seen.get("X-Other")).isEqualTo("kept");
  }
}
