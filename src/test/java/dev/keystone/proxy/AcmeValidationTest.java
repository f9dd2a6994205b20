package dev.keystone.proxy;

import dev.keystone.model.AcmeTokens;
import dev.keystone.testing.TestCertificates;
import dev.keystone.testing.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * TLS-ALPN-01 on the TLS listener: the validation certificate goes only to a handshake that asks
 * for ALPN acme-tls/1 alone, for the name being validated; every other handshake gets the tenant's
 * certificate, and the validation connection carries no HTTP.
 */
class AcmeValidationTest {

  @TempDir
  Path dir;
  TestGateway gw;
  X509Certificate tenantLeaf;
  X509Certificate validation;

  @BeforeEach
  void start() throws Exception {
    TestCertificates ca = TestCertificates.in(dir);
    TestCertificates.Issued cert = ca.issue("shop", "shop.test", "other.test");
    gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        tenants:
          - name: shop
            domains: [shop.test, other.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: s, url: "http://127.0.0.1:9" }]
        """.formatted(cert.cert(), cert.key()));
    tenantLeaf = handshake("shop.test", "h2").leaf;
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair key = g.generateKeyPair();
    validation = dev.keystone.acme.AcmeTestAccess.validationCertificate("shop.test", key, new byte[32]);
    gw.gateway().acmeTokens().putAlpn("shop.test", new AcmeTokens.AlpnAnswer(validation, key.getPrivate()));
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  record Shake(X509Certificate leaf, String alpn, SSLSocket socket) {
  }

  private Shake handshake(String name, String... alpn) throws Exception {
    SSLContext ctx = TestCertificates.trustingAnyServer();
    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", gw.gateway().tlsPort());
    s.setSoTimeout(10_000);
    SSLParameters p = s.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName(name)));
    p.setApplicationProtocols(alpn);
    s.setSSLParameters(p);
    s.startHandshake();
    return new Shake((X509Certificate) s.getSession().getPeerCertificates()[0], s.getApplicationProtocol(), s);
  }

  @Test
  void onlyAnAcmeTlsHandshakeForTheNameGetsTheValidationCertificate() throws Exception {
    Shake acme = handshake("shop.test", "acme-tls/1");
    assertThat(acme.leaf()).isEqualTo(validation);
    assertThat(acme.alpn()).isEqualTo("acme-tls/1");
    assertThat(acme.socket().getInputStream().read()).as("no HTTP on a validation: closed").isEqualTo(-1);
    acme.socket().close();

    assertThat(handshake("shop.test", "h2", "acme-tls/1").leaf()).as("acme-tls/1 among others: a client").isEqualTo(tenantLeaf);
    assertThat(handshake("shop.test", "http/1.1").leaf()).isEqualTo(tenantLeaf);
    assertThat(handshake("other.test", "acme-tls/1").leaf()).as("no validation open for this name").isEqualTo(tenantLeaf);

    gw.gateway().acmeTokens().removeAlpn("shop.test");
    assertThat(handshake("shop.test", "acme-tls/1").leaf()).as("the validation is over").isEqualTo(tenantLeaf);
  }
}
