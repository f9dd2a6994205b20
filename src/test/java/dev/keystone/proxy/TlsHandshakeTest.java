package dev.keystone.proxy;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The bound on TLS handshakes in progress for the whole gateway, over every client. */
class TlsHandshakeTest {

  @Test
  void beyondTheLimitAConnectionIsNotAdmittedUntilAnotherHandshakeEnds() {
    TlsHandshake tls = new TlsHandshake(() -> name -> null, 10_000, 3, 3);
    List<EmbeddedChannel> admitted = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      EmbeddedChannel ch = new EmbeddedChannel();
      assertThat(tls.admit(ch)).isNotNull();
      admitted.add(ch);
    }
    assertThat(tls.inProgress()).isEqualTo(3);
    assertThat(tls.admit(new EmbeddedChannel())).isNull();
    assertThat(tls.refused()).isEqualTo(1);
    assertThat(tls.inProgress()).isEqualTo(3);

    admitted.get(0).close();
    assertThat(tls.inProgress()).isEqualTo(2);
    admitted.get(0).close(); // released once, however often it closes
    assertThat(tls.inProgress()).isEqualTo(2);
    assertThat(tls.admit(new EmbeddedChannel())).isNotNull();
    assertThat(tls.inProgress()).isEqualTo(3);
  }
}
