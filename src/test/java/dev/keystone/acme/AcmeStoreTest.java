package dev.keystone.acme;

import dev.keystone.config.ServerCertificate;
import dev.keystone.testing.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shredzone.acme4j.exception.AcmeException;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The data_dir and the checks of what a CA returns (attack s13b-3, -4, -5). */
class AcmeStoreTest {

  @Test
  void aCertificateAndItsKeyAreKeptInOneFileAndReadBack(@TempDir Path dir) throws Exception {
    AcmeStore store = new AcmeStore(dir.resolve("data"));
    KeyPair key = AcmeStore.newKey();
    String chain = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    assertThat(store.load(List.of("a.test"))).isNull();
    // a chain that is not the key's is not served back
    ServerCertificate saved = store.save(List.of("a.test"), chain, key);
    assertThat(saved.certFile()).isEqualTo(saved.keyFile());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(saved.certFile()))).isEqualTo("rw-------");
    assertThat(Files.readString(saved.certFile())).startsWith(chain).contains("-----BEGIN PRIVATE KEY-----");
    assertThat(store.load(List.of("a.test"))).as("garbage chain").isNull();
  }

  @Test
  void anAccountKeyOnAnotherCurveIsUsedWithItsOwnPublicKey(@TempDir Path dir) throws Exception {
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(new java.security.spec.ECGenParameterSpec("secp384r1"));
    KeyPair p384 = g.generateKeyPair();
    Files.writeString(dir.resolve("account.key"), "-----BEGIN PRIVATE KEY-----\n"
        + java.util.Base64.getMimeEncoder().encodeToString(p384.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
    KeyPair read = new AcmeStore(dir).accountKey();
    assertThat(read.getPublic()).isEqualTo(p384.getPublic()); // was derived on P-256: every order failed
  }

  @Test
  void aHugeOrOddKeptFileIsNotReadAndOrderedAgain(@TempDir Path dir) throws Exception {
    AcmeStore store = new AcmeStore(dir);
    Path f = dir.resolve("certificates").resolve(AcmeStore.key(List.of("a.test"))).resolve("certificate.pem");
    Files.createDirectories(f.getParent());
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      r.setLength(300L << 20); // sparse: read whole, it ended the gateway with OutOfMemoryError
    }
    assertThat(store.load(List.of("a.test"))).isNull();
    Files.delete(f);
    Files.createSymbolicLink(f, Path.of("/dev/zero"));
    assertThat(store.load(List.of("a.test"))).isNull();
  }

  @Test
  void whatTheCaReturnsMustBeForTheKeyTheNamesAndNow(@TempDir Path dir) throws Exception {
    TestCertificates ca = TestCertificates.in(dir);
    TestCertificates.Issued a = ca.issue("a", "a.test", "www.a.test");
    X509Certificate leaf = AcmeStore.leaf(Files.readString(a.cert()));
    KeyPair right = new KeyPair(leaf.getPublicKey(), null);
    Instant now = leaf.getNotBefore().toInstant().plus(Duration.ofHours(1));
    AcmeIssuer.check(leaf, List.of("a.test", "www.a.test"), right, now); // passes

    assertThatThrownBy(() -> AcmeIssuer.check(leaf, List.of("a.test"), AcmeStore.newKey(), now))
        .isInstanceOf(AcmeException.class).hasMessage("the CA returned a certificate for another key");
    assertThatThrownBy(() -> AcmeIssuer.check(leaf, List.of("a.test", "b.test"), right, now))
        .isInstanceOf(AcmeException.class).hasMessage("the CA returned a certificate for [a.test, www.a.test], not for b.test");
    assertThatThrownBy(() -> AcmeIssuer.check(leaf, List.of("a.test"), right, leaf.getNotAfter().toInstant()))
        .isInstanceOf(AcmeException.class).hasMessageEndingWith(", not now");
    assertThatThrownBy(() -> AcmeIssuer.check(leaf, List.of("a.test"), right, leaf.getNotBefore().toInstant().minus(Duration.ofHours(1))))
        .isInstanceOf(AcmeException.class).hasMessageEndingWith(", not now");
  }
}
