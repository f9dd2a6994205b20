package dev.keystone.acme;

import dev.keystone.config.ServerCertificate;
import dev.keystone.testing.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A certificate is renewed once a third of its lifetime is left (the time is given, not waited for). */
class AcmeRenewalTest {

  @Test
  void dueOnceAThirdOfTheLifetimeIsLeft(@TempDir Path dir) throws Exception {
    TestCertificates.Issued i = TestCertificates.in(dir).issue("c", "a.test");
    String pem = Files.readString(i.cert());
    ServerCertificate c = new ServerCertificate(i.cert(), i.key(), pem, Files.readString(i.key()));
    X509Certificate leaf = AcmeStore.leaf(pem);
    Instant from = leaf.getNotBefore().toInstant();
    Instant until = leaf.getNotAfter().toInstant();
    Duration third = Duration.between(from, until).dividedBy(3);
    assertThat(AcmeManager.due(c, from.plusSeconds(1))).isFalse();
    assertThat(AcmeManager.due(c, until.minus(third).minusSeconds(1))).isFalse();
    assertThat(AcmeManager.due(c, until.minus(third).plusSeconds(1))).isTrue();
    assertThat(AcmeManager.due(c, until.plusSeconds(1))).isTrue();
  }

  @Test
  void aFailedOrderTurnsTheChallengesSoTheNextTryStartsWithAnother() {
    List<String> both = List.of("http-01", "tls-alpn-01");
    assertThat(AcmeManager.turned(both, 0)).containsExactly("http-01", "tls-alpn-01");
    assertThat(AcmeManager.turned(both, 1)).containsExactly("tls-alpn-01", "http-01");
    assertThat(AcmeManager.turned(both, 2)).containsExactly("http-01", "tls-alpn-01");
    assertThat(AcmeManager.turned(List.of("tls-alpn-01"), 5)).containsExactly("tls-alpn-01");
  }
}
