package dev.keystone.gateway;

import dev.keystone.config.ConfigLoader;
import dev.keystone.config.GatewayConfig;
import dev.keystone.config.ListenAddress;
import dev.keystone.testing.LogCapture;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What a reload keeps of the running listeners, and when it says so. */
class RestartOnlyTest {

  static GatewayConfig config(String adminListen) throws Exception {
    return new ConfigLoader(k -> null).parse("""
        admin: { listen: "%s" }
        tenants:
          - { name: t, path_prefix: /t/, services: [{ name: s, url: "http://127.0.0.1:1" }] }
        """.formatted(adminListen), "gw.yaml");
  }

  @Test
  void aChangedAdminAddressInTheFileWaitsForARestartAndSaysSo() throws Exception {
    GatewayConfig running = config("127.0.0.1:9901");
    try (LogCapture log = LogCapture.of("keystone.gateway")) {
      GatewayConfig kept = RestartOnly.keep(running, config("127.0.0.1:9902"), false);
      assertThat(kept.admin().listen()).isEqualTo(ListenAddress.parse("127.0.0.1:9901"));
      assertThat(log.matching("admin.listen and admin.enabled apply after a restart")).hasSize(1);
    }
  }

  @Test
  void anAdminAddressGivenOnTheCommandLineStaysWithoutAWarning() throws Exception {
    GatewayConfig running = config("127.0.0.1:9901").withAdminListen(ListenAddress.parse("127.0.0.1:7000"));
    try (LogCapture log = LogCapture.of("keystone.gateway")) {
      GatewayConfig kept = RestartOnly.keep(running, config("127.0.0.1:9901"), true);
      assertThat(kept.admin().listen()).isEqualTo(ListenAddress.parse("127.0.0.1:7000"));
      assertThat(log.matching("apply after a restart")).isEmpty();
    }
  }

  @Test
  void aMovedOrNewTlsListenerWaitsForARestartWhileItsCertificatesApplyNow() throws Exception {
    GatewayConfig plain = config("127.0.0.1:9901");
    GatewayConfig tls = plain.withTlsListen(ListenAddress.parse("127.0.0.1:8443"));
    try (LogCapture log = LogCapture.of("keystone.gateway")) {
      GatewayConfig moved = RestartOnly.keep(tls, plain.withTlsListen(ListenAddress.parse("127.0.0.1:9443")), false);
      assertThat(moved.tls().listen()).isEqualTo(ListenAddress.parse("127.0.0.1:8443"));
      assertThat(log.matching("tls_listen stays 127.0.0.1:8443 until a restart")).hasSize(1);
      GatewayConfig added = RestartOnly.keep(plain, tls, false);
      assertThat(added.tls().enabled()).isFalse();
      assertThat(log.matching("tls_listen stays off until a restart")).hasSize(1);
      assertThat(RestartOnly.keep(tls, tls, false).tls()).isEqualTo(tls.tls());
      assertThat(log.matching("tls_listen")).hasSize(2);
      RestartOnly.keep(tls, plain, false); // every certificate gone: the listener stays, and fails every handshake
      assertThat(log.matching("the new config has no certificate, so every TLS handshake fails until then")).hasSize(1);
    }
  }
}
