package dev.keystone.proxy;

import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PfxOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * HTTPS to backends is verified by default: the backend's certificate must chain to a trusted
 * CA (the JDK's, or {@code tls_ca}) and name the host ({@code tls_server_name}, else the URL's
 * host), which is also sent as SNI. {@code tls_verify: false} is the explicit way out.
 */
class UpstreamTlsTest {

  @TempDir
  static Path dir;
  static Vertx vertx;
  static HttpServer https;
  static final List<String> sniSeen = new CopyOnWriteArrayList<>();
  TestGateway gw;

  @BeforeAll
  static void certificatesAndBackend() throws Exception {
    keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=Keystone Test CA",
        "-ext", "bc:c", "-validity", "2", "-keystore", "ca.p12");
    keytool("-exportcert", "-alias", "ca", "-keystore", "ca.p12", "-rfc", "-file", "ca.pem");
    keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=api.internal",
        "-validity", "2", "-keystore", "server.p12");
    keytool("-certreq", "-alias", "server", "-keystore", "server.p12", "-file", "server.csr");
    keytool("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-infile", "server.csr", "-outfile", "server.pem", "-rfc",
        "-ext", "san=dns:api.internal,ip:127.0.0.1", "-validity", "2");
    keytool("-importcert", "-alias", "ca", "-file", "ca.pem", "-keystore", "server.p12", "-noprompt");
    keytool("-importcert", "-alias", "server", "-file", "server.pem", "-keystore", "server.p12", "-noprompt");
    vertx = Vertx.vertx();
    https = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setSni(true)
            .setKeyCertOptions(new PfxOptions().setPath(dir.resolve("server.p12").toString()).setPassword("changeit")))
        .requestHandler(req -> {
          sniSeen.add(String.valueOf(req.connection().indicatedServerName()));
          req.response().end("secure " + req.path());
        })
        .listen(0, "127.0.0.1").await();
  }

  static void keytool(String... args) throws Exception {
    dev.keystone.testing.TestCertificates.keytool(dir, args);
  }

  @AfterAll
  static void stopBackend() {
    vertx.close();
  }

  @AfterEach
  void stopGateway() {
    if (gw != null) {
      gw.close();
    }
    sniSeen.clear();
  }

  private HttpResponse<String> through(String serviceExtras) {
    gw = TestGateway.start("""
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services:
              - { name: s, url: "https://127.0.0.1:%d", health: /health%s }
        """.formatted(https.actualPort(), serviceExtras));
    return gw.get("/t/x", "X-Request-ID", "tls");
  }

  @Test
  void aBackendSignedByTheConfiguredCaIsVerifiedByIpAddress() {
    HttpResponse<String> r = through(", tls_ca: \"" + dir.resolve("ca.pem") + "\"");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("secure /x");
    assertThat(sniSeen).as("no SNI for an IP address").contains("null");
  }

  @Test
  void theServerNameIsSentAsSniAndVerified() {
    HttpResponse<String> r = through(", tls_ca: \"" + dir.resolve("ca.pem") + "\", tls_server_name: api.internal");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(sniSeen).contains("api.internal");
  }

  @Test
  void anUntrustedCertificateIs502ByDefault() {
    HttpResponse<String> r = through("");
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.body()).isEqualTo("502 Bad Gateway (request id tls)\n");
    Await.until("the health check failed on the certificate too", () -> {
      var h = gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health();
      return h.lastCheck() != null && !h.healthy();
    });
  }

  @Test
  void aCertificateForAnotherNameIs502() {
    HttpResponse<String> r = through(", tls_ca: \"" + dir.resolve("ca.pem") + "\", tls_server_name: other.internal");
    assertThat(r.statusCode()).isEqualTo(502);
  }

  @Test
  void verificationCanBeTurnedOffExplicitly() {
    HttpResponse<String> r = through(", tls_verify: false");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("secure /x");
  }

  @Test
  void tlsSettingsAreValidated() {
    assertThatThrownBy(() -> new ConfigLoader().parse("""
        tenants:
          - name: t
            path_prefix: /t/
            services:
              - { name: a, url: "https://127.0.0.1:1", tls_ca: /nonexistent/ca.pem }
              - { name: b, url: "http://127.0.0.1:1", tls_verify: false }
              - { name: c, url: "https://127.0.0.1:1", tls_server_name: "bad name" }
        """, "tls.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls.yaml:5: tenants[0].services[0].tls_ca: cannot read /nonexistent/ca.pem")
        .hasMessageContaining("tls.yaml:6: tenants[0].services[1].tls_verify: only means something for an https:// url")
        .hasMessageContaining("tls.yaml:7: tenants[0].services[2].tls_server_name: ");
  }

  @Test
  void aReloadThatTurnsVerificationOnReachesTheHealthChecksToo() throws Exception {
    HttpResponse<String> r = through(", tls_verify: false");
    assertThat(r.statusCode()).isEqualTo(200);
    var before = gw.gateway().snapshot().tenants().get(0).pool().backends().get(0);
    Await.until("checked healthy unverified", () -> before.health().healthy());
    String config = java.nio.file.Files.readString(gw.file());
    gw.rewrite(config.replace(", tls_verify: false", "").replace("health_interval: 1h", "health_interval: 100ms"));
    assertThat(gw.gateway().reloadFromFile().applied()).isTrue();
    var after = gw.gateway().snapshot().tenants().get(0).pool().backends().get(0);
    Await.until("checked with verification: the certificate is not trusted", () -> after.health().lastCheck() != null
        && !after.health().healthy());
    assertThat(after.health().lastReason()).contains("failed");
  }

  @Test
  void aVerifiedAndAnUnverifiedServiceOnOneBackendNeverShareAConnection() {
    gw = TestGateway.start("""
        tenants:
          - name: loose
            path_prefix: /loose/
            health_interval: 1h
            services: [{ name: s, url: "https://127.0.0.1:%1$d", health: /health, tls_verify: false }]
          - name: strict
            path_prefix: /strict/
            health_interval: 1h
            services: [{ name: s, url: "https://127.0.0.1:%1$d", health: /health }]
        """.formatted(https.actualPort()));
    assertThat(gw.get("/loose/x").statusCode()).isEqualTo(200);
    assertThat(gw.get("/strict/x").statusCode()).as("not on the loose tenant's connection").isEqualTo(502);
  }
}
