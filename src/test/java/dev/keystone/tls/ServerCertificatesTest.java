package dev.keystone.tls;

import dev.keystone.config.ConfigLoader;
import dev.keystone.config.GatewayConfig;
import dev.keystone.config.ServerCertificate;
import dev.keystone.testing.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The table of served certificates, built from a config and the certificates ACME issued. */
class ServerCertificatesTest {

  @Test
  void anIssuedCertificateThatCannotBeServedLeavesItsNamesWithoutAndTheRestServed(@TempDir Path dir) throws Exception {
    TestCertificates ca = TestCertificates.in(dir);
    TestCertificates.Issued a = ca.issueRsa("a", "a.test");
    TestCertificates.Issued b = ca.issue("b", "b.test");
    Path file = dir.resolve("gw.yaml");
    Files.writeString(file, """
        tls_listen: 127.0.0.1:0
        acme: { directory: "https://127.0.0.1:9/dir", data_dir: data }
        tenants:
          - name: auto
            domains: [a.test]
            tls: auto
            services: [{ name: s, url: "http://127.0.0.1:1" }]
          - name: files
            domains: [b.test]
            tls: { cert: b.pem, key: b.key }
            services: [{ name: s, url: "http://127.0.0.1:1" }]
        """);
    GatewayConfig config = new ConfigLoader(k -> null).load(file);
    // a's RSA certificate with b's EC key: what a CA's broken answer once kept was (attack s13b-6)
    ServerCertificate broken = new ServerCertificate(a.cert(), b.key(), Files.readString(a.cert()), Files.readString(b.key()));
    ServerCertificates table = ServerCertificates.compile(config, null, t -> t.name().equals("auto") ? broken : null);
    assertThat(table.map("a.test")).isNull();
    assertThat(table.map("b.test")).isNotNull();
    assertThat(table.served()).extracting(ServerCertificates.Served::tenant).containsExactly("files");
  }
}
