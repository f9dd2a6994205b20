package dev.keystone.config;

import dev.keystone.testing.TestCertificates;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * A tenant's {@code tls} and the top-level {@code tls_listen} / {@code tls_default}: every
 * certificate is read and checked when the config loads, and each mistake is named with its key
 * and line.
 */
class ServerTlsConfigTest {

  @TempDir
  static Path dir;
  static TestCertificates.Issued a;
  static TestCertificates.Issued b;
  static TestCertificates.Issued wild;
  /** The test CA's own certificate (a CA: what client_ca takes), by its file name in dir. */
  static String caFile;

  @BeforeAll
  static void certificates() {
    TestCertificates ca = TestCertificates.in(dir);
    caFile = dir.relativize(ca.caPem()).toString();
    a = ca.issue("a", "a.test");
    b = ca.issue("b", "b.test");
    wild = ca.issue("wild", "*.w.test");
  }

  private static GatewayConfig load(String yaml) throws Exception {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, yaml);
    return new ConfigLoader(k -> null).load(file);
  }

  private static List<ConfigError> errors(String yaml) throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, yaml);
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> new ConfigLoader(k -> null).load(file));
    assertThat(e).as("expected the config to be rejected").isNotNull();
    return e.errors();
  }

  private static String tenant(String domains, String tls) {
    return """
        tenants:
          - name: a
            domains: %s
            tls: %s
            services: [{ name: s, url: "http://127.0.0.1:1" }]
        """.formatted(domains, tls);
  }

  private static String files(TestCertificates.Issued cert, TestCertificates.Issued key) {
    return "{ cert: \"" + cert.cert() + "\", key: \"" + key.key() + "\" }";
  }

  @Test
  void aTenantCertificateIsReadAndTheListenerDefaultsToPort443() throws Exception {
    GatewayConfig c = load(tenant("[a.test]", "{ cert: a.pem, key: a.key }")); // relative to the config's directory
    assertThat(c.tls().listen()).isEqualTo(new ListenAddress("0.0.0.0", 443));
    assertThat(c.tls().fallback()).isNull();
    ServerCertificate cert = c.tenants().get(0).tls();
    assertThat(cert.certFile()).isEqualTo(a.cert());
    assertThat(cert.certPem()).isEqualTo(Files.readString(a.cert()));
    assertThat(cert.keyPem()).isEqualTo(Files.readString(a.key()));
    assertThat(cert.toString()).doesNotContain("PRIVATE KEY");
  }

  @Test
  void aWildcardCertificateCoversAWildcardDomainAndOneLabelUnderIt() throws Exception {
    GatewayConfig c = load(tenant("[\"*.w.test\", x.w.test]", files(wild, wild)) + "tls_listen: 127.0.0.1:8443\n");
    assertThat(c.tls().listen()).isEqualTo(new ListenAddress("127.0.0.1", 8443));
    assertThat(c.tenants().get(0).tls()).isNotNull();
  }

  @Test
  void aKeyOfAnotherCertificateIsRefused() throws Exception {
    assertThat(errors(tenant("[a.test]", files(a, b)))).singleElement().satisfies(e -> {
      assertThat(e.line()).isEqualTo(4);
      assertThat(e.key()).isEqualTo("tenants[0].tls.key");
      assertThat(e.message()).isEqualTo(b.key() + " is not the key of the certificate in " + a.cert());
    });
  }

  @Test
  void aCertificateForOtherNamesThanTheTenantsDomainsIsRefused() throws Exception {
    assertThat(errors(tenant("[a.test, y.x.w.test]", files(a, a)))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("tenants[0].tls.cert");
      assertThat(e.message()).isEqualTo("the certificate in " + a.cert() + " is for [a.test], not for the tenant's domain y.x.w.test");
    });
    assertThat(errors(tenant("[y.x.w.test]", files(wild, wild)))).singleElement()
        .satisfies(e -> assertThat(e.message()).endsWith("is for [*.w.test], not for the tenant's domain y.x.w.test"));
  }

  @Test
  void missingFilesAndKeysAreNamed() throws Exception {
    assertThat(errors(tenant("[a.test]", "{ cert: nowhere.pem, key: \"" + a.key() + "\" }"))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("tenants[0].tls.cert");
      assertThat(e.message()).isEqualTo("cannot read nowhere.pem: no such file");
    });
    assertThat(errors(tenant("[a.test]", "{ cert: \"" + a.cert() + "\" }"))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("tenants[0].tls.key");
      assertThat(e.message()).startsWith("missing: a certificate needs its cert (PEM chain) and key (PEM, PKCS#8) files");
    });
    assertThat(errors(tenant("[a.test]", "{ cert: a.pem, key: a.key, chain: x.pem }"))).singleElement()
        .satisfies(e -> assertThat(e.key()).isEqualTo("tenants[0].tls.chain"));
  }

  @Test
  void anOlderOrEncryptedKeyFormSaysHowToConvertIt() throws Exception {
    Path old = dir.resolve("old.key");
    Files.writeString(old, "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n");
    assertThat(errors(tenant("[a.test]", "{ cert: a.pem, key: old.key }"))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("tenants[0].tls.key");
      assertThat(e.message()).isEqualTo("old.key is in the older PKCS#1/SEC1 form: convert it with"
          + " 'openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW' (BEGIN PRIVATE KEY)");
    });
    Files.writeString(dir.resolve("text.key"), "not a key\n");
    assertThat(errors(tenant("[a.test]", "{ cert: a.pem, key: text.key }"))).singleElement()
        .satisfies(e -> assertThat(e.message()).startsWith("text.key holds no PEM private key"));
  }

  @Test
  void aTenantWithoutDomainsTlsAutoAndAListenerWithoutCertificatesAreRefused() throws Exception {
    List<ConfigError> noDomains = errors("""
        tenants:
          - name: a
            path_prefix: /a/
            tls: { cert: a.pem, key: a.key }
            services: [{ name: s, url: "http://127.0.0.1:1" }]
        """);
    assertThat(noDomains).anySatisfy(e -> {
      assertThat(e.key()).isEqualTo("tenants[0].tls");
      assertThat(e.message()).startsWith("needs the tenant's domains");
    });
    assertThat(errors(tenant("[a.test]", "manual"))).singleElement().satisfies(e -> {
      assertThat(e.line()).isEqualTo(4);
      assertThat(e.message()).startsWith("expected auto (a certificate from the acme CA), local (from the gateway's own CA) or the certificate's files");
    });
    assertThat(errors("tls_listen: 127.0.0.1:8443\n" + tenant("[a.test]", "{ cert: a.pem, key: a.key }")
        .replace("    tls: { cert: a.pem, key: a.key }\n", ""))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("tls_listen");
      assertThat(e.message()).startsWith("no certificate to serve");
    });
  }

  @Test
  void attackS13RoughEdgesGetErrorsThatSayWhatIsWrong() throws Exception {
    // a fifo: not opened, and said so
    Path fifo = dir.resolve("fifo.pem");
    if (!Files.exists(fifo)) {
      assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
    }
    assertThat(errors(tenant("[a.test]", "{ cert: fifo.pem, key: a.key }"))).singleElement()
        .satisfies(e -> assertThat(e.message()).isEqualTo("cannot read fifo.pem: not a regular file"));
    // one broken certificate is one error, not also "tls_listen: no certificate to serve"
    assertThat(errors("tls_listen: 127.0.0.1:8443\n" + tenant("[a.test]", "{ cert: nowhere.pem, key: a.key }")))
        .singleElement().satisfies(e -> {
          assertThat(e.key()).isEqualTo("tenants[0].tls.cert");
          assertThat(e.message()).isEqualTo("cannot read nowhere.pem: no such file");
        });
    // the certificate given as the key
    assertThat(errors(tenant("[a.test]", "{ cert: a.pem, key: a.pem }"))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("tenants[0].tls.key");
      assertThat(e.message()).isEqualTo("a.pem holds a certificate, not a private key (cert and key swapped?)");
    });
  }

  @Test
  void aCertificateWithOnlyACommonNameIsRefused() throws Exception {
    // keytool without -ext san: the name is in the subject's CN only
    TestCertificates.keytool(dir, "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=a.test", "-validity", "2", "-keystore", "cn-only.p12");
    TestCertificates.keytool(dir, "-exportcert", "-alias", "server", "-keystore", "cn-only.p12", "-rfc", "-file", "cn-only.pem");
    java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(dir.resolve("cn-only.p12"))) {
      ks.load(in, "changeit".toCharArray());
    }
    Files.writeString(dir.resolve("cn-only.key"), "-----BEGIN PRIVATE KEY-----\n" + java.util.Base64.getMimeEncoder()
        .encodeToString(ks.getKey("server", "changeit".toCharArray()).getEncoded()) + "\n-----END PRIVATE KEY-----\n");
    assertThat(errors(tenant("[a.test]", "{ cert: cn-only.pem, key: cn-only.key }"))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("tenants[0].tls.cert");
      assertThat(e.message()).isEqualTo("the certificate in cn-only.pem names its host only in the common name [a.test]:"
          + " clients reject it; it needs the names as DNS subject alternative names");
    });
  }

  @Test
  void tlsAutoTakesTheAcmeBlockWithItsDefaults() throws Exception {
    GatewayConfig c = load(tenant("[a.test, www.a.test]", "auto"));
    assertThat(c.tenants().get(0).tls()).isSameAs(ServerCertificate.AUTO);
    assertThat(c.tls().listen()).isEqualTo(new ListenAddress("0.0.0.0", 443));
    assertThat(c.tls().acme()).isEqualTo(new AcmeConfig(AcmeConfig.LETS_ENCRYPT, null, null, dir.resolve("keystone-data")));
    GatewayConfig own = load("acme: { directory: \"https://ca.internal/acme\", email: ops@a.test, ca_root: a.pem, data_dir: /var/lib/ks }\n"
        + tenant("[a.test]", "auto"));
    assertThat(own.tls().acme()).isEqualTo(new AcmeConfig("https://ca.internal/acme", "ops@a.test", Files.readString(a.cert()),
        Path.of("/var/lib/ks")));
  }

  @Test
  void tlsAutoRefusesWildcardsNoDomainsAndABadAcmeBlock() throws Exception {
    assertThat(errors(tenant("[\"*.w.test\"]", "auto"))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("tenants[0].tls");
      assertThat(e.message()).startsWith("auto cannot certify the wildcard *.w.test: a CA validates wildcards only over DNS");
    });
    assertThat(errors(tenant("[]", "auto"))).anySatisfy(
        e -> assertThat(e.message()).isEqualTo("needs the tenant's domains: the CA certifies names"));
    assertThat(errors("acme: { directory: ftp://ca, email: nobody }\n" + tenant("[a.test]", "auto")))
        .extracting(ConfigError::key).containsExactly("acme.directory", "acme.email");
    // attack s13b: plain HTTP to the CA, and a data_dir that is a file, were taken
    assertThat(errors("acme: { directory: \"http://ca.internal/dir\", data_dir: a.pem }\n" + tenant("[a.test]", "auto")))
        .extracting(ConfigError::message).containsExactly("must be the CA's ACME directory URL (https://...), got 'http://ca.internal/dir'",
            "a.pem is a file: it must be a directory (made when missing)");
    assertThat(errors("acme: { challenges: [http-01, dns-01] }\n" + tenant("[a.test]", "auto"))).singleElement().satisfies(e -> {
      assertThat(e.key()).isEqualTo("acme.challenges[1]");
      assertThat(e.message()).isEqualTo("unknown challenge 'dns-01': expected http-01 or tls-alpn-01"
          + " (dns-01 is not answered: wildcard certificates come as files)");
    });
    assertThat(errors("acme: { challenges: [] }\n" + tenant("[a.test]", "auto"))).extracting(ConfigError::message)
        .containsExactly("needs at least one of [http-01, tls-alpn-01]");
    assertThat(load("acme: { challenges: tls-alpn-01 }\n" + tenant("[a.test]", "auto")).tls().acme().challenges())
        .containsExactly("tls-alpn-01");
  }

  @Test
  void tlsLocalNeedsDomainsTakesWildcardsAndTheAcmeDataDir() throws Exception {
    GatewayConfig c = load(tenant("[a.test, \"*.w.test\"]", "local"));
    assertThat(c.tenants().get(0).tls()).isSameAs(ServerCertificate.LOCAL);
    assertThat(c.tenants().get(0).tls().local()).isTrue();
    assertThat(c.tenants().get(0).tls().acme()).isFalse();
    assertThat(c.tls().listen()).isEqualTo(new ListenAddress("0.0.0.0", 443));
    assertThat(c.tls().acme().dataDir()).isEqualTo(dir.resolve("keystone-data"));
    assertThat(errors(tenant("[]", "local"))).anySatisfy(
        e -> assertThat(e.message()).isEqualTo("needs the tenant's domains: the certificate is for them"));
    assertThat(errors(tenant("[a.test]", "self"))).singleElement().satisfies(e -> assertThat(e.message())
        .startsWith("expected auto (a certificate from the acme CA), local (from the gateway's own CA) or the certificate's files"));
  }

  @Test
  void clientCertificatesNeedTheTenantsTlsAndACaFile() throws Exception {
    GatewayConfig c = load(tenant("[a.test]", files(a, a) + "\n    client_ca: " + caFile));
    assertThat(c.tenants().get(0).clientAuth()).isEqualTo(new ClientAuth(dir.resolve(caFile), Files.readString(dir.resolve(caFile)), true));
    assertThat(load(tenant("[a.test]", "auto\n    client_ca: " + caFile + "\n    client_auth: optional")).tenants().get(0)
        .clientAuth().required()).isFalse();
    // a leaf verifies no client (attack s14b note: it loaded, and every handshake would have failed)
    assertThat(errors(tenant("[a.test]", "auto\n    client_ca: a.pem"))).extracting(ConfigError::key, ConfigError::message)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("tenants[0].client_ca", "a.pem holds CN=a.test, which is not a CA"
            + " certificate (no basicConstraints CA:TRUE): give the CA that issues the clients' certificates"));
    assertThat(errors("""
        tenants:
          - name: a
            domains: [a.test]
            client_ca: %s
            services: [{ name: s, url: "http://127.0.0.1:1" }]
        """.formatted(caFile))).extracting(ConfigError::message)
        .contains("needs the tenant's tls: client certificates are asked for in its TLS handshakes");
    assertThat(errors(tenant("[a.test]", "auto\n    client_ca: nothing.pem"))).extracting(ConfigError::message)
        .containsExactly("cannot read nothing.pem: no such file");
    assertThat(errors(tenant("[a.test]", "auto\n    client_ca: " + caFile + "\n    client_auth: sometimes")))
        .extracting(ConfigError::key, ConfigError::message)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("tenants[0].client_auth", "expected required or optional, got 'sometimes'"));
    assertThat(errors(tenant("[a.test]", "auto\n    client_auth: optional"))).extracting(ConfigError::message)
        .containsExactly("needs client_ca: the CA whose certificates clients present");
    // tenants sharing a name share its handshake: their client certificates must be asked for alike (s14b-1)
    assertThat(errors("""
        tenants:
          - name: public
            domains: [a.test]
            path_prefix: /public/
            tls: auto
            services: [{ name: s, url: "http://127.0.0.1:1" }]
          - name: admin
            domains: [a.test]
            path_prefix: /admin/
            tls: auto
            client_ca: %s
            services: [{ name: s, url: "http://127.0.0.1:1" }]
        """.formatted(caFile))).extracting(ConfigError::key, ConfigError::message).containsExactly(org.assertj.core.groups.Tuple.tuple(
        "tenants[1].client_ca", "tenant admin shares the domain a.test with tenant public, whose TLS handshake clients get"
            + " for it: give both the same client_ca and client_auth"));
  }

  @Test
  void tlsDefaultAloneOpensTheListener() throws Exception {
    GatewayConfig c = load("tls_default: " + files(b, b) + "\n" + """
        tenants:
          - name: a
            path_prefix: /a/
            services: [{ name: s, url: "http://127.0.0.1:1" }]
        """);
    assertThat(c.tls().enabled()).isTrue();
    assertThat(c.tls().fallback().certFile()).isEqualTo(b.cert());
  }
}
