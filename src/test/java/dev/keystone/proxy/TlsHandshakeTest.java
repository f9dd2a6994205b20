package dev.keystone.proxy;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The bound on TLS handshakes in progress for the whole gateway, over every client. */
class TlsHandshakeTest {

  @Test
  void atTheBoundTheOldestHandshakeIsCutToAdmitTheNewConnection() {
    TlsHandshake tls = new TlsHandshake(() -> name -> null, 10_000, 3, 3);
    List<EmbeddedChannel> admitted = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      EmbeddedChannel ch = new EmbeddedChannel();
      assertThat(tls.admit(ch)).isNotNull();
      admitted.add(ch);
    }
    assertThat(tls.inProgress()).isEqualTo(3);
    EmbeddedChannel fourth = new EmbeddedChannel();
    assertThat(tls.admit(fourth)).isNotNull();
    assertThat(admitted.get(0).isOpen()).isFalse(); // the oldest, cut
    assertThat(admitted.get(1).isOpen()).isTrue();
    assertThat(tls.refused()).isEqualTo(1);
    assertThat(tls.inProgress()).isEqualTo(3);

    admitted.get(1).close();
    assertThat(tls.inProgress()).isEqualTo(2);
    admitted.get(1).close(); // released once, however often it closes
    admitted.get(0).close(); // (and the cut one not again)
    assertThat(tls.inProgress()).isEqualTo(2);
    assertThat(tls.admit(new EmbeddedChannel())).isNotNull();
    assertThat(tls.inProgress()).isEqualTo(3);
    assertThat(tls.refused()).isEqualTo(1);
    assertThat(admitted.get(2).isOpen()).isTrue();
    assertThat(fourth.isOpen()).isTrue();
  }
}
