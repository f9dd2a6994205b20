package dev.keystone.acme;

import dev.keystone.testing.Pebble;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shredzone.acme4j.exception.AcmeException;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ACME issuance against a real ACME server (Pebble) that validates HTTP-01 on the gateway's plain
 * listener: the challenge is answered there before any tenant's routing, and only while open.
 */
class AcmeIssuerTest {

  @TempDir
  static Path dir;
  static Vertx vertx;
  static TestBackend backend;
  static TestGateway gw;
  static Pebble pebble;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "shop");
    gw = TestGateway.start("""
        tenants:
          - name: shop
            domains: [shop.test]
            services: [{ name: s, url: "%s" }]
        """.formatted(backend.url()));
    pebble = Pebble.start(dir, gw.port());
  }

  @AfterAll
  static void stop() {
    if (pebble != null) {
      pebble.close();
    }
    gw.close();
    backend.close();
    vertx.close();
  }

  static KeyPair ecKey() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  @Test
  void aCertificateIsIssuedForTheDomainsWithHttp01AnsweredByThePlainListener() throws Exception {
    AcmeIssuer issuer = new AcmeIssuer(pebble.directory(), pebble.trust(), ecKey(), "ops@shop.test",
        gw.gateway().acmeTokens());
    KeyPair domainKey = ecKey();
    int before = backend.requests();
    AcmeIssuer.Issued issued = issuer.issue(List.of("shop.test", "www.shop.test"), domainKey);

    List<X509Certificate> chain = new ArrayList<>();
    for (var c : CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(issued.chainPem().getBytes(StandardCharsets.US_ASCII)))) {
      chain.add((X509Certificate) c);
    }
    X509Certificate leaf = chain.get(0);
    List<String> names = new ArrayList<>();
    for (List<?> e : leaf.getSubjectAlternativeNames()) {
      names.add((String) e.get(1));
    }
    assertThat(names).containsExactlyInAnyOrder("shop.test", "www.shop.test");
    assertThat(leaf.getPublicKey()).isEqualTo(domainKey.getPublic());
    assertThat(chain).hasSizeGreaterThanOrEqualTo(2); // the leaf and Pebble's intermediate
    assertThat(issued.notAfter()).isEqualTo(leaf.getNotAfter().toInstant());
    assertThat(gw.gateway().acmeTokens().size()).as("no challenge left open").isZero();
    assertThat(backend.requests()).as("the CA's validation never reached the tenant's backend").isEqualTo(before);
    // a token no longer open goes to routing like any path
    assertThat(gw.get("/.well-known/acme-challenge/whatever", "Host", "shop.test").body())
        .isEqualTo("shop /.well-known/acme-challenge/whatever");
  }

  @Test
  void aWildcardNameSaysItNeedsDns01() throws Exception {
    AcmeIssuer issuer = new AcmeIssuer(pebble.directory(), pebble.trust(), ecKey(), null, gw.gateway().acmeTokens());
    assertThatThrownBy(() -> issuer.issue(List.of("*.shop.test"), ecKey()))
        .isInstanceOf(AcmeException.class)
        .hasMessageContaining("the CA offers none of [http-01] for shop.test")
        .hasMessageContaining("a wildcard name needs dns-01");
  }

  @Test
  void aCaWithoutRenewalInformationLeavesTheRenewalToTheLifetimeRule(@org.junit.jupiter.api.io.TempDir Path certs)
      throws Exception {
    // Debian's Pebble (2.4) has no renewalInfo resource: the answer is "none", not a failure
    AcmeIssuer issuer = new AcmeIssuer(pebble.directory(), pebble.trust(), ecKey(), null, gw.gateway().acmeTokens());
    var issued = dev.keystone.testing.TestCertificates.in(certs).issue("c", "shop.test");
    java.security.cert.X509Certificate leaf;
    try (var in = java.nio.file.Files.newInputStream(issued.cert())) {
      leaf = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    assertThat(issuer.suggestedRenewal(leaf)).isNull();
  }
}
