package dev.keystone.acme;

import dev.keystone.config.ServerCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tls: local}: the gateway's own CA is made once and kept (key 0600), its certificates
 * chain to it for the tenant's names (a wildcard too), are reused until a third of their life is
 * left, and a restart keeps the same CA so that clients trust it once.
 */
class LocalCaTest {

  @TempDir
  Path dir;

  @Test
  void certificatesChainToTheKeptCaForTheTenantsNames() throws Exception {
    Instant now = Instant.now();
    LocalCa ca = new LocalCa(dir);
    ServerCertificate c = ca.certificate(List.of("app.test", "*.app.test"), now);
    List<X509Certificate> chain = chain(c.certPem());
    X509Certificate root = chain(Files.readString(ca.caFile())).get(0);
    trusting(root).checkServerTrusted(chain.toArray(new X509Certificate[0]), "ECDHE_ECDSA");
    assertThat(dev.keystone.config.CertificateNames.dnsNames(chain.get(0))).containsExactly("app.test", "*.app.test");
    assertThat(chain.get(0).getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1"); // serverAuth only
    assertThat(root.getBasicConstraints()).isZero(); // a CA that signs leaves only
    assertThat(dev.keystone.config.PemKeys.signsFor(dev.keystone.config.PemKeys.fromPem(c.keyPem()), chain.get(0))).isTrue();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("local-ca/ca.key")))).isEqualTo("rw-------");

    assertThat(ca.certificate(List.of("app.test", "*.app.test"), now.plus(Duration.ofDays(19)))).as("two thirds left: kept").isSameAs(c);
    ServerCertificate renewed = ca.certificate(List.of("app.test", "*.app.test"), now.plus(Duration.ofDays(21)));
    assertThat(renewed).as("less than a third left: issued again").isNotSameAs(c);

    LocalCa again = new LocalCa(dir); // a restart: the same CA, so clients that trust it still do
    X509Certificate next = chain(again.certificate(List.of("other.test"), now).certPem()).get(0);
    trusting(root).checkServerTrusted(new X509Certificate[] {next}, "ECDHE_ECDSA");
    assertThat(chain(Files.readString(again.caFile())).get(0)).isEqualTo(root);
  }

  @Test
  void theAdminApiListsALocalCertificate() throws Exception {
    // attack s19-acme F6: GET /api/v1/certificates answered 500 (a local certificate has no file)
    try (dev.keystone.testing.TestGateway gw = dev.keystone.testing.TestGateway.start("""
        tls_listen: 127.0.0.1:0
        acme: { data_dir: "%s" }
        tenants:
          - name: app
            domains: [app.test]
            tls: local
            services: [{ name: s, url: "http://127.0.0.1:9" }]
        """.formatted(dir))) {
      var r = gw.admin("GET", "/api/v1/certificates");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      var c = new io.vertx.core.json.JsonObject(r.body()).getJsonArray("certificates").getJsonObject(0);
      assertThat(c.getString("source")).isEqualTo("local");
      assertThat(c.getJsonArray("names").getList()).containsExactly("app.test");
      assertThat(c.getValue("cert")).isNull();
      assertThat(c.getValue("key")).isNull();
    }
  }

  private static List<X509Certificate> chain(String pem) throws Exception {
    return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))
        .stream().map(X509Certificate.class::cast).toList();
  }

  private static X509TrustManager trusting(X509Certificate root) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("root", root);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    return (X509TrustManager) tmf.getTrustManagers()[0];
  }

  @Test
  void aDamagedCaIsNeverReplacedSilently() throws Exception {
    // Attack s14b-4: a truncated ca.pem (a full disk, a crash between the two writes) made a new
    // CA at the next start, its key over the old one: every client that trusted it broke, unlogged.
    LocalCa ca = new LocalCa(dir);
    ca.certificate(List.of("app.test"), Instant.now());
    byte[] key = Files.readAllBytes(dir.resolve("local-ca/ca.key"));
    byte[] pem = Files.readAllBytes(ca.caFile());
    Files.write(ca.caFile(), java.util.Arrays.copyOf(pem, 100));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new LocalCa(dir).certificate(List.of("app.test"), Instant.now()))
        .hasMessage("the local CA in " + dir.resolve("local-ca") + " cannot be used (its ca.pem does not read as a"
            + " certificate): it is kept as it is; restore it, or move the directory aside to make a new one"
            + " (clients must then trust the new ca.pem)");
    assertThat(Files.readAllBytes(dir.resolve("local-ca/ca.key"))).as("the key is kept").isEqualTo(key);
    Files.delete(ca.caFile()); // the key alone: the same
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new LocalCa(dir).certificate(List.of("app.test"), Instant.now()))
        .hasMessageContaining("its ca.pem is missing");
    assertThat(Files.readAllBytes(dir.resolve("local-ca/ca.key"))).isEqualTo(key);
  }
}
