package dev.keystone.proxy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.gateway.GatewayOptions;
import dev.keystone.testing.Await;
import dev.keystone.testing.LogCapture;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestClock;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * JWT validation (issue 17): issuer, audience, algorithms (no none, no HS/RS confusion), clock
 * skew, a JWKS fetched from the issuer and fetched again when a token names a new key.
 */
class JwtTest {

  static final String ISSUER = "https://auth.example.test/";
  final TestClock clock = new TestClock(Instant.parse("2026-12-07T10:00:00Z"));
  Vertx vertx;
  TestBackend backend;
  HttpServer issuer;
  final AtomicReference<String> jwks = new AtomicReference<>();
  RSAKey key;
  TestGateway gw;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "b");
    key = new RSAKeyGenerator(2048).keyID("k1").generate();
    jwks.set(new JWKSet(key.toPublicJWK()).toString());
    issuer = Await.result(vertx.createHttpServer().requestHandler(req -> req.response()
        .putHeader("Content-Type", "application/json").end(jwks.get())).listen(0, "127.0.0.1"));
    gw = TestGateway.start("""
        tenants:
          - name: api
            path_prefix: /api/
            jwt:
              issuer: "%s"
              audiences: [orders]
              algorithms: [RS256, ES256]
              jwks_url: http://127.0.0.1:%d/jwks
              clock_skew: 30s
              forward_claims: { sub: X-User-Id, tier: X-Tier }
            services: [{ name: b, url: "%s" }]
        """.formatted(ISSUER, issuer.actualPort(), backend.url()), Map.of(), new GatewayOptions(2, "test", clock));
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  JWTClaimsSet.Builder claims() {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder().issuer(ISSUER).audience("orders").subject("user-7").claim("tier", "gold")
        .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(300)));
  }

  static String sign(RSAKey k, JWTClaimsSet c) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(k.getKeyID()).type(JOSEObjectType.JWT).build(), c);
    jwt.sign(new RSASSASigner(k));
    return jwt.serialize();
  }

  HttpResponse<String> call(String token) {
    return token == null ? gw.get("/api/x") : gw.get("/api/x", "Authorization", "Bearer " + token, "X-User-Id", "forged");
  }

  void awaitKeys() throws Exception {
    String t = sign(key, claims().build());
    Await.until("the JWKS is fetched", () -> call(t).statusCode() == 200);
  }

  @Test
  void aValidTokenPassesWithItsClaimsAndEveryFlawIsRefused() throws Exception {
    awaitKeys();
    try (LogCapture log = LogCapture.accessLog()) {
      // named by its request id: awaitKeys' last request may be logged only now (CI saw two lines)
      assertThat(gw.get("/api/x", "Authorization", "Bearer " + sign(key, claims().build()), "X-User-Id", "forged",
          "X-Request-ID", "jwt-valid").statusCode()).isEqualTo(200);
      assertThat(backend.last().headers().get("X-User-Id")).isEqualTo("user-7");
      assertThat(backend.last().headers().get("X-Tier")).isEqualTo("gold");
      assertThat(log.awaitOne("request_id=jwt-valid")).contains("path=/api/x status=200").contains(" jwt_sub=\"user-7\"");
    }
    int seen = backend.requests();

    HttpResponse<String> none = call(null);
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"api\"");
    HttpResponse<String> bad = call("not.a.token");
    assertThat(bad.statusCode()).isEqualTo(401);
    assertThat(bad.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"api\", error=\"invalid_token\"");

    assertThat(call(sign(key, claims().issuer("https://evil.test/").build())).statusCode()).as("issuer").isEqualTo(401);
    assertThat(call(sign(key, claims().audience("billing").build())).statusCode()).as("audience").isEqualTo(401);
    assertThat(call(sign(key, claims().expirationTime(null).build())).statusCode()).as("no exp").isEqualTo(401);
    Instant now = clock.instant();
    assertThat(call(sign(key, claims().expirationTime(Date.from(now.minusSeconds(20))).build())).statusCode())
        .as("expired within the skew").isEqualTo(200);
    assertThat(call(sign(key, claims().expirationTime(Date.from(now.minusSeconds(40))).build())).statusCode())
        .as("expired beyond the skew").isEqualTo(401);
    assertThat(call(sign(key, claims().notBeforeTime(Date.from(now.plusSeconds(60))).build())).statusCode())
        .as("not yet valid").isEqualTo(401);
    seen++;

    // alg none: an unsigned token
    assertThat(call(new PlainJWT(claims().build()).serialize()).statusCode()).as("alg none").isEqualTo(401);
    // HS256 signed with the issuer's public key as the HMAC secret (the classic confusion)
    SignedJWT confused = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(), claims().build());
    byte[] publicBytes = key.toPublicJWK().toRSAPublicKey().getEncoded();
    confused.sign(new MACSigner(java.util.Arrays.copyOf(publicBytes, Math.max(32, publicBytes.length))));
    assertThat(call(confused.serialize()).statusCode()).as("HS/RS confusion").isEqualTo(401);
    // another key under the same key id
    RSAKey impostor = new RSAKeyGenerator(2048).keyID("k1").generate();
    assertThat(call(sign(impostor, claims().build())).statusCode()).as("another key").isEqualTo(401);
    // a signature moved onto other claims
    String good = sign(key, claims().build());
    String[] parts = good.split("\\.");
    String forged = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
        claims().subject("admin").build().toString().getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
    assertThat(call(forged).statusCode()).as("claims changed under a signature").isEqualTo(401);
    assertThat(backend.requests()).isEqualTo(seen);
  }

  @Test
  void aRotatedKeyIsFetchedWhenATokenNamesItAndTheOldOneStopsWorking() throws Exception {
    awaitKeys();
    String old = sign(key, claims().build());
    ECKey next = new ECKeyGenerator(Curve.P_256).keyID("k2").generate();
    jwks.set(new JWKSet(next.toPublicJWK()).toString());
    SignedJWT rotated = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("k2").build(), claims().build());
    rotated.sign(new ECDSASigner(next));
    Await.until("a token with the new key id has the set fetched again", Duration.ofSeconds(30),
        () -> call(rotated.serialize()).statusCode() == 200);
    assertThat(call(old).statusCode()).isEqualTo(401);
  }

  @Test
  void configMistakesAreRefusedWithTheirKey() {
    String yaml = """
        tenants:
          - name: a
            path_prefix: /a/
            jwt: { issuer: x, audiences: [y], algorithms: [none], jwks_url: "http://example.com/jwks" }
            services: [{ name: b, url: "http://127.0.0.1:1" }]
          - name: b
            path_prefix: /b/
            jwt: { issuer: x, audiences: [y], algorithms: [RS256, HS256], secret: short }
            services: [{ name: b, url: "http://127.0.0.1:1" }]
          - name: c
            path_prefix: /c/
            jwt: { audiences: [], jwks_file: missing.json }
            services: [{ name: b, url: "http://127.0.0.1:1" }]
        """;
    assertThatThrownBy(() -> new ConfigLoader().parse(yaml, "c.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("c.yaml:4: tenants[0].jwt.algorithms: none is never accepted")
        .hasMessageContaining("c.yaml:4: tenants[0].jwt.jwks_url: an https:// URL (http:// only to 127.0.0.1, ::1 or localhost)")
        .hasMessageContaining("c.yaml:8: tenants[1].jwt.algorithms: HMAC (HS*) and public-key algorithms never together")
        .hasMessageContaining("c.yaml:8: tenants[1].jwt.secret: HS* needs a secret of at least 32 bytes")
        .hasMessageContaining("tenants[2].jwt.issuer: missing")
        .hasMessageContaining("tenants[2].jwt.audiences: missing")
        .hasMessageContaining("tenants[2].jwt.jwks_file: cannot read");
  }

  @Test
  void anHmacTokenIsCheckedWithTheSecretOnly() throws Exception {
    gw.close();
    String secret = "0123456789abcdef0123456789abcdef";
    gw = TestGateway.start("""
        tenants:
          - name: api
            path_prefix: /api/
            jwt: { issuer: "%s", audiences: [orders], algorithms: [HS256], secret: "%s" }
            services: [{ name: b, url: "%s" }]
        """.formatted(ISSUER, secret, backend.url()), Map.of(), new GatewayOptions(2, "test", clock));
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims().build());
    jwt.sign(new MACSigner(secret));
    assertThat(call(jwt.serialize()).statusCode()).isEqualTo(200);
    SignedJWT other = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims().build());
    other.sign(new MACSigner("another secret of at least 32 bytes!"));
    assertThat(call(other.serialize()).statusCode()).isEqualTo(401);
    assertThat(call(sign(key, claims().build())).statusCode()).as("an RS256 token where HS256 is expected").isEqualTo(401);
    assertThat(gw.admin("GET", "/api/v1/config").body()).doesNotContain(secret);
  }

  /** Attack s18-policy F4: a token without a key id was tried against every key of a large set. */
  @Test
  void aTokenWithoutAKeyIdIsRefusedWhenTheSetHoldsSeveralKeys() throws Exception {
    RSAKey second = new RSAKeyGenerator(2048).keyID("k2").generate();
    jwks.set(new JWKSet(java.util.List.of(key.toPublicJWK(), second.toPublicJWK())).toString());
    String withKid = sign(second, claims().build());
    Await.until("the two-key set is fetched", () -> call(withKid).statusCode() == 200);
    SignedJWT noKid = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).build(), claims().build());
    noKid.sign(new RSASSASigner(key));
    assertThat(call(noKid.serialize()).statusCode()).isEqualTo(401);
    // an RFC 9068 access token (typ at+jwt) is a JWT like any other
    SignedJWT access = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1")
        .type(new JOSEObjectType("at+jwt")).build(), claims().build());
    access.sign(new RSASSASigner(key));
    assertThat(call(access.serialize()).statusCode()).isEqualTo(200);
  }
}
