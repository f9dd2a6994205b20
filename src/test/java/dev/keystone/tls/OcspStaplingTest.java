package dev.keystone.tls;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RespID;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * OCSP stapling (BoringSSL): the gateway asks the responder its certificate names, checks the
 * answer, and staples it to the handshakes of clients that ask (openssl s_client -status); a
 * certificate whose responder does not answer is served without one.
 */
class OcspStaplingTest {

  @TempDir
  static Path dir;
  static Vertx vertx;
  static HttpServer responder;
  static final AtomicInteger asked = new AtomicInteger();
  static KeyPair caKey;
  static X509Certificate ca;

  @BeforeAll
  static void caAndResponder() throws Exception {
    caKey = key();
    X500Name n = new X500Name("CN=OCSP test CA");
    Instant now = Instant.now();
    var b = new JcaX509v3CertificateBuilder(n, BigInteger.ONE, Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(2))), n, caKey.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    ca = new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
    vertx = Vertx.vertx();
    // A real OCSP responder on loopback: every certificate this CA issued is good, signed by the CA.
    responder = dev.keystone.testing.Await.result(vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      asked.incrementAndGet();
      try {
        OCSPReq ocsp = new OCSPReq(body.getBytes());
        var digest = new JcaDigestCalculatorProviderBuilder().build().get(org.bouncycastle.cert.ocsp.CertificateID.HASH_SHA1);
        BasicOCSPRespBuilder rb = new BasicOCSPRespBuilder(new RespID(new JcaX509CertificateHolder(ca).getSubject()));
        for (Req r : ocsp.getRequestList()) {
          rb.addResponse(r.getCertID(), CertificateStatus.GOOD, new Date(), Date.from(Instant.now().plus(Duration.ofHours(12))));
        }
        var basic = rb.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate()),
            new X509CertificateHolder[0], new Date());
        byte[] der = new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded();
        req.response().putHeader("Content-Type", "application/ocsp-response").end(Buffer.buffer(der));
      } catch (Exception e) {
        req.response().setStatusCode(500).end();
      }
    })).listen(0, "127.0.0.1"));
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  private static KeyPair key() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  /** A leaf for {@code name} naming {@code ocspUrl} as its responder; writes NAME.pem (leaf, CA) and NAME.key. */
  private static Path[] leaf(String name, String ocspUrl, long serial) throws Exception {
    KeyPair k = key();
    Instant now = Instant.now();
    var b = new JcaX509v3CertificateBuilder(new X500Name("CN=OCSP test CA"), BigInteger.valueOf(serial),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(1))), new X500Name("CN=" + name), k.getPublic());
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, name)));
    b.addExtension(Extension.authorityInfoAccess, false, new AuthorityInformationAccess(AccessDescription.id_ad_ocsp,
        new GeneralName(GeneralName.uniformResourceIdentifier, ocspUrl)));
    X509Certificate c = new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
    Path pem = dir.resolve(name + ".pem");
    Path keyFile = dir.resolve(name + ".key");
    Files.writeString(pem, pem(c.getEncoded(), "CERTIFICATE") + pem(ca.getEncoded(), "CERTIFICATE"));
    Files.writeString(keyFile, pem(k.getPrivate().getEncoded(), "PRIVATE KEY"));
    return new Path[] {pem, keyFile};
  }

  private static String pem(byte[] der, String what) {
    return "-----BEGIN " + what + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + what + "-----\n";
  }

  /** What openssl s_client -status says of the handshake for {@code name}. */
  private static String sClient(TestGateway gw, String name) throws Exception {
    Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + gw.gateway().tlsPort(), "-servername", name,
        "-status").redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    return out;
  }

  @Test
  void theRespondersAnswerIsStapledAndACertificateWithoutOneIsServedBare() throws Exception {
    assertThat(TlsEngine.name()).as("stapling needs BoringSSL").isEqualTo("BoringSSL");
    Path[] good = leaf("ocsp.test", "http://127.0.0.1:" + responder.actualPort() + "/", 0x1001);
    int nobody;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      nobody = s.getLocalPort();
    }
    Path[] bare = leaf("down.test", "http://127.0.0.1:" + nobody + "/", 0x1002);
    try (TestGateway gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        tenants:
          - name: stapled
            domains: [ocsp.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: s, url: "http://127.0.0.1:9" }]
          - name: down
            domains: [down.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: s, url: "http://127.0.0.1:9" }]
        """.formatted(good[0], good[1], bare[0], bare[1]))) {
      Await.until("an answer stapled", Duration.ofSeconds(30), () -> {
        try {
          return sClient(gw, "ocsp.test").contains("OCSP Response Status: successful");
        } catch (Exception e) {
          return false;
        }
      });
      String stapled = sClient(gw, "ocsp.test");
      assertThat(stapled).contains("Cert Status: good").contains("Serial Number: 1001");
      assertThat(asked.get()).as("asked once, reused for every handshake").isEqualTo(1);
      String without = sClient(gw, "down.test");
      assertThat(without).contains("OCSP response: no response sent").contains("Verify return code");
    }
  }
}
