package dev.keystone.proxy;

import dev.keystone.model.ReloadResult;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestCertificates;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The TLS listener ({@code tls_listen}): each tenant's certificate is served for the names its
 * handshake asks for (SNI), wildcards for one label, {@code tls_default} for the rest or a failed
 * handshake without one; requests over it are forwarded with {@code X-Forwarded-Proto: https};
 * a reload replaces certificates for new handshakes, and a broken one is refused.
 */
class TlsListenerTest {

  @TempDir
  static Path dir;
  static TestCertificates ca;
  static TestCertificates.Issued a;
  static TestCertificates.Issued b;
  static TestCertificates.Issued wild;
  static TestCertificates.Issued fallback;
  static Vertx vertx;
  static TestBackend backendA;
  static TestBackend backendB;
  TestGateway gw;

  @BeforeAll
  static void certificatesAndBackends() {
    ca = TestCertificates.in(dir);
    a = ca.issue("a", "a.test");
    b = ca.issue("b", "b.test", "www.b.test");
    wild = ca.issue("wild", "*.w.test");
    fallback = ca.issue("fallback", "default.test");
    vertx = Vertx.vertx();
    backendA = new TestBackend(vertx, "A");
    backendB = new TestBackend(vertx, "B");
  }

  @AfterAll
  static void stop() {
    backendA.close();
    backendB.close();
    vertx.close();
  }

  @AfterEach
  void stopGateway() {
    if (gw != null) {
      gw.close();
    }
  }

  /** Only tenant a, served with these files, on an ephemeral TLS port. */
  private static String tenantA(Object cert, Object key) {
    return """
        tls_listen: 127.0.0.1:0
        tenants:
          - name: a
            domains: [a.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
        """.formatted(cert, key, backendA.url());
  }

  private static String tenants(String extra) {
    return extra + """
        tenants:
          - name: a
            domains: [a.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: a1, url: "%s" }]
          - name: b
            domains: [b.test, www.b.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: b1, url: "%s" }]
          - name: w
            domains: ["*.w.test"]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: w1, url: "%s" }]
        """.formatted(a.cert(), a.key(), backendA.url(), b.cert(), b.key(), backendB.url(), wild.cert(), wild.key(),
        backendA.url());
  }

  @Test
  void eachTenantsCertificateIsServedForItsNamesAndRequestsAreForwardedAsHttps() throws Exception {
    gw = TestGateway.start(tenants("tls_listen: 127.0.0.1:0\n"));
    Reply ra = get("a.test", "/x");
    assertThat(ra.names).containsExactly("a.test");
    assertThat(ra.text).startsWith("HTTP/1.1 200").endsWith("A /x");
    assertThat(backendA.last().headers().get("X-Forwarded-Proto")).isEqualTo("https");
    assertThat(backendA.last().headers().get("Forwarded")).endsWith("proto=https");

    Reply rb = get("www.b.test", "/y");
    assertThat(rb.names).containsExactly("b.test", "www.b.test");
    assertThat(rb.text).startsWith("HTTP/1.1 200").endsWith("B /y");

    Reply rw = get("x.w.test", "/z"); // one label under the wildcard
    assertThat(rw.names).containsExactly("*.w.test");
    assertThat(rw.text).startsWith("HTTP/1.1 200").endsWith("A /z");

    // the plain listener serves as before, and says http
    assertThat(gw.get("/p", "Host", "a.test").body()).isEqualTo("A /p");
    assertThat(backendA.last().headers().get("X-Forwarded-Proto")).isEqualTo("http");
  }

  @Test
  void aConnectionClosedAfterItsAnswerSendsCloseNotifyBeforeItsFin() throws Exception {
    // Without close_notify a client cannot tell the end of an answer from a cut (a body without a
    // length ends with the connection): OpenSSL said "unexpected eof" after every answer with
    // Connection: close, the lingering close shut the socket's output under TLS's feet.
    gw = TestGateway.start(tenants("tls_listen: 127.0.0.1:0\n"));
    String out = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + gw.gateway().tlsPort(),
          "-servername", "a.test", "-quiet", "-msg").redirectErrorStream(true).start();
      p.getOutputStream().write("GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      p.getOutputStream().close(); // (-quiet reads on until the server closes)
      String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      p.waitFor();
      return text;
    });
    assertThat(out).contains("\r\n\r\nA /x").contains("<<< TLS 1.3, Alert [length 0002], warning close_notify")
        .doesNotContain("unexpected eof");
  }

  @Test
  void aNameNoTenantServesFailsTheHandshakeWithoutADefault() throws Exception {
    gw = TestGateway.start(tenants("tls_listen: 127.0.0.1:0\n"));
    int before = backendA.requests() + backendB.requests();
    assertThatThrownBy(() -> get("c.test", "/")).isInstanceOf(SSLException.class);
    assertThatThrownBy(() -> get("y.x.w.test", "/")).as("two labels under the wildcard").isInstanceOf(SSLException.class);
    assertThatThrownBy(() -> get(null, "/")).as("no name at all").isInstanceOf(SSLException.class);
    assertThat(backendA.requests() + backendB.requests()).isEqualTo(before);
    assertThat(get("a.test", "/after").text).endsWith("A /after");
  }

  @Test
  void tlsDefaultIsServedForOtherNamesAndForNone() throws Exception {
    gw = TestGateway.start(tenants("tls_listen: 127.0.0.1:0\ntls_default: { cert: \"%s\", key: \"%s\" }\n"
        .formatted(fallback.cert(), fallback.key())));
    // the certificate is for other names than asked: checked by name below, not by the client
    assertThat(handshake("c.test", false).names).containsExactly("default.test");
    assertThat(handshake(null, false).names).containsExactly("default.test");
    assertThat(handshake("a.test").names).containsExactly("a.test");
  }

  @Test
  void onlyForwardSecretAeadSuitesOfTls12And13AreAccepted() throws Exception {
    TestCertificates.Issued rsa = ca.issueRsa("rsa", "a.test"); // the CBC suites in Netty's own defaults are RSA's
    gw = TestGateway.start(tenantA(rsa.cert(), rsa.key()));
    assertThat(handshakeWith("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")).isEqualTo("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assertThatThrownBy(() -> handshakeWith("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")).isInstanceOf(SSLException.class);
    assertThatThrownBy(() -> handshakeWith("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA")).isInstanceOf(SSLException.class);
    assertThat(handshakeWith("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256")).isEqualTo("TLS_CHACHA20_POLY1305_SHA256");
  }

  /** The suite a handshake offering only {@code protocol} and {@code suite} agreed on. */
  private String handshakeWith(String protocol, String suite) throws Exception {
    try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("127.0.0.1", gw.gateway().tlsPort())) {
      s.setSoTimeout(20_000);
      SSLParameters p = s.getSSLParameters();
      p.setServerNames(List.of(new SNIHostName("a.test")));
      p.setProtocols(new String[] {protocol});
      p.setCipherSuites(new String[] {suite});
      s.setSSLParameters(p);
      s.startHandshake();
      return s.getSession().getCipherSuite();
    }
  }

  @Test
  void plainHttpOnTheTlsPortIsClosedAndReachesNoBackend() throws Exception {
    gw = TestGateway.start(tenants("tls_listen: 127.0.0.1:0\n"));
    int before = backendA.requests() + backendB.requests();
    assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      try (Socket s = new Socket("127.0.0.1", gw.gateway().tlsPort())) {
        s.getOutputStream().write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(readAll(s.getInputStream())).isEmpty();
      }
    });
    assertThat(backendA.requests() + backendB.requests()).isEqualTo(before);
  }

  @Test
  void aReloadReplacesACertificateForNewHandshakesAndRefusesABrokenOne() throws Exception {
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    Files.copy(a.cert(), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(a.key(), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    gw = TestGateway.start(tenantA(cert, key));
    java.math.BigInteger first = handshake("a.test").serial;

    TestCertificates.Issued renewed = ca.issue("renewed", "a.test");
    Files.copy(renewed.cert(), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(renewed.key(), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    ReloadResult r = gw.gateway().reloadFromFile();
    assertThat(r.errors()).isEmpty();
    java.math.BigInteger second = handshake("a.test").serial;
    assertThat(second).isNotEqualTo(first).isEqualTo(serialOf(renewed.cert()));

    Files.copy(b.key(), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING); // another certificate's key
    ReloadResult broken = gw.gateway().reloadFromFile();
    assertThat(broken.applied()).isFalse();
    assertThat(String.join("\n", broken.errors())).contains("tenants[0].tls.key").contains("is not the key of the certificate");
    assertThat(handshake("a.test").serial).isEqualTo(second);
    assertThat(get("a.test", "/still").text).endsWith("A /still");
  }

  @Test
  void renewedFilesAreServedWithoutAnExplicitReloadAndABrokenPairIsNotTriedAgainAndAgain() throws Exception {
    Path cert = dir.resolve("watched.pem");
    Path key = dir.resolve("watched.key");
    Files.copy(a.cert(), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(a.key(), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    gw = TestGateway.start(tenantA(cert, key));
    TestCertificates.Issued renewed = ca.issue("renewed-watched", "a.test");
    // the key first: until the certificate follows, the pair does not match and is refused
    Files.copy(renewed.key(), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    dev.keystone.testing.Await.until("the mismatched pair refused", Duration.ofSeconds(30),
        () -> reloads(false) >= 1);
    Files.copy(renewed.cert(), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    java.math.BigInteger expected = serialOf(renewed.cert());
    dev.keystone.testing.Await.until("the renewed certificate served", Duration.ofSeconds(30), () -> {
      try {
        return handshake("a.test").serial.equals(expected);
      } catch (Exception e) {
        return false;
      }
    });
    assertThat(reloads(false)).as("the refused pair was tried once").isEqualTo(1);
    assertThat(reloads(true)).isEqualTo(1);
  }

  /** Reloads the certificate watcher triggered, applied or refused. */
  private long reloads(boolean applied) {
    return gw.gateway().events().list().stream()
        .filter(e -> e instanceof dev.keystone.model.Events.Reload r && r.trigger().equals("certificate") && r.applied() == applied)
        .count();
  }

  @Test
  void httpsRedirectSendsPlainRequestsToTheTlsListenerAndHstsIsSentOverTlsOnly() throws Exception {
    gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        tenants:
          - name: a
            domains: [a.test]
            tls: { cert: "%s", key: "%s" }
            https_redirect: true
            hsts: 365d
            services: [{ name: a1, url: "%s" }]
          - name: b
            domains: [b.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: b1, url: "%s" }]
        """.formatted(a.cert(), a.key(), backendA.url(), b.cert(), b.key(), backendB.url()));
    int port = gw.gateway().tlsPort();
    int before = backendA.requests();
    var get = gw.get("/x/y?q=1", "Host", "A.test:8080");
    assertThat(get.statusCode()).isEqualTo(301);
    assertThat(get.headers().firstValue("Location")).hasValue("https://a.test:" + port + "/x/y?q=1");
    assertThat(get.headers().firstValue("Strict-Transport-Security")).isEmpty();
    var post = gw.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/form"))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("a=1")), "Host", "a.test");
    assertThat(post.statusCode()).isEqualTo(308);
    assertThat(post.headers().firstValue("Location")).hasValue("https://a.test:" + port + "/form");
    assertThat(backendA.requests()).as("nothing reached the backend over plain HTTP").isEqualTo(before);

    String over = get("a.test", "/secure").text;
    assertThat(over).startsWith("HTTP/1.1 200").containsIgnoringCase("Strict-Transport-Security: max-age=31536000\r\n").endsWith("A /secure");
    // another tenant: no redirect, no HSTS
    assertThat(gw.get("/plain", "Host", "b.test").body()).isEqualTo("B /plain");
    assertThat(get("b.test", "/s").text).doesNotContainIgnoringCase("Strict-Transport-Security");
  }

  @Test
  void httpsRedirectAndHstsNeedTheTlsListener() {
    var e = org.assertj.core.api.Assertions.catchThrowable(() -> TestGateway.start("""
        tenants:
          - name: a
            domains: [a.test]
            https_redirect: true
            services: [{ name: a1, url: "%s" }]
        """.formatted(backendA.url())));
    assertThat(e).hasMessageContaining("tenants[0].https_redirect").hasMessageContaining("needs the TLS listener");
  }

  @Test
  void theAdminApiListsCertificatesWithTheirExpiryAndNeverShowsAKey() throws Exception {
    gw = TestGateway.start(tenants("tls_listen: 127.0.0.1:0\ntls_default: { cert: \"%s\", key: \"%s\" }\n"
        .formatted(fallback.cert(), fallback.key())));
    var list = new io.vertx.core.json.JsonObject(gw.admin("GET", "/api/v1/certificates").body());
    assertThat(list.getString("tls_listen")).isEqualTo("127.0.0.1:" + gw.gateway().tlsPort());
    var certs = list.getJsonArray("certificates");
    assertThat(certs.size()).isEqualTo(4);
    var first = certs.stream().map(o -> (io.vertx.core.json.JsonObject) o)
        .filter(o -> "b".equals(o.getString("tenant"))).findFirst().orElseThrow();
    X509Certificate leaf = leafOf(b.cert());
    assertThat(first.getJsonArray("names").getList()).containsExactly("b.test", "www.b.test");
    assertThat(first.getString("not_after")).isEqualTo(leaf.getNotAfter().toInstant().toString());
    assertThat(first.getLong("days_left")).isEqualTo(
        java.time.Duration.between(java.time.Instant.now(), leaf.getNotAfter().toInstant()).toDays());
    assertThat(first.getString("cert")).isEqualTo(b.cert().toString());
    assertThat(first.getString("issuer")).isEqualTo("CN=Keystone Test CA");
    assertThat(certs.stream().map(o -> (io.vertx.core.json.JsonObject) o).filter(o -> o.getBoolean("default")).count()).isEqualTo(1);

    String metrics = gw.admin("GET", "/metrics").body();
    assertThat(metrics).contains("keystone_certificate_expiry_timestamp_seconds{tenant=\"b\"} "
        + leaf.getNotAfter().toInstant().getEpochSecond() + "\n");
    assertThat(metrics).contains("keystone_certificate_expiry_timestamp_seconds{tenant=\"\"} ");

    String config = gw.admin("GET", "/api/v1/config").body();
    assertThat(config).contains(a.key().toString()).doesNotContain("PRIVATE KEY").doesNotContain("BEGIN CERTIFICATE");
  }

  private static X509Certificate leafOf(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  @Test
  void aTlsListenerThatCannotBindSaysWhichListenerItWas() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      var e = org.assertj.core.api.Assertions.catchThrowable(() -> TestGateway.start(tenants(
          "tls_listen: 127.0.0.1:" + taken.getLocalPort() + "\n")));
      assertThat(e).hasMessageContaining("tls_listen 127.0.0.1:" + taken.getLocalPort() + ": ");
    }
  }

  @Test
  void socketsThatNeverSayHelloCannotLockAClientOutOfTlsAndPlainClientsAreServedMeanwhile() throws Exception {
    // A client's handshakes in progress are bounded (MAX_PER_CLIENT); at the bound the oldest is
    // cut, not the newcomer refused: 256 sockets that never sent a ClientHello kept every other
    // handshake from that address (a NAT's users) failing until their header-read deadline.
    gw = TestGateway.start(tenants("tls_listen: 127.0.0.1:0\n"));
    List<Socket> stalled = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < TlsHandshake.MAX_PER_CLIENT; i++) {
        stalled.add(new Socket("127.0.0.1", gw.gateway().tlsPort())); // connects and never says hello
      }
      dev.keystone.testing.Await.until("all admitted", Duration.ofSeconds(30),
          () -> gw.gateway().tlsHandshakesInProgress() == TlsHandshake.MAX_PER_CLIENT);
      assertThat(get("a.test", "/after").text).startsWith("HTTP/1.1 200").endsWith("A /after");
      // it took the slot of one of the oldest stalled sockets, which the gateway closed; once
      // through, its own slot was free again: the next client needs no cut
      dev.keystone.testing.Await.until("one of the oldest cut", Duration.ofSeconds(30),
          () -> closedByPeer(stalled.subList(0, 16)) == 1);
      dev.keystone.testing.Await.until("its handshake over", Duration.ofSeconds(30),
          () -> gw.gateway().tlsHandshakesInProgress() == TlsHandshake.MAX_PER_CLIENT - 1);
      assertThat(handshake("a.test").names).containsExactly("a.test");
      assertThat(gw.gateway().tlsHandshakesRefused()).isEqualTo(1);
      assertThat(gw.admin("GET", "/metrics").body()).contains("keystone_tls_handshakes_refused_total 1\n");
      assertThat(gw.get("/plain", "Host", "a.test").body()).isEqualTo("A /plain");
    } finally {
      for (Socket s : stalled) {
        s.close();
      }
    }
  }

  /** How many of {@code sockets} the other side has closed (a read sees the end at once). */
  private static int closedByPeer(List<Socket> sockets) {
    int closed = 0;
    for (Socket s : sockets) {
      try {
        s.setSoTimeout(20);
        if (s.getInputStream().read() == -1) {
          closed++;
        }
      } catch (java.net.SocketTimeoutException open) {
        // nothing arrived: still open
      } catch (IOException reset) {
        closed++;
      }
    }
    return closed;
  }

  // --- a client that names the server it wants, verifies the answer against the test CA and that name

  record Reply(List<String> names, java.math.BigInteger serial, String text) {
  }

  private Reply handshake(String name) throws Exception {
    return handshake(name, true);
  }

  private Reply handshake(String name, boolean verifyName) throws Exception {
    try (SSLSocket s = open(name, verifyName)) {
      X509Certificate peer = (X509Certificate) s.getSession().getPeerCertificates()[0];
      return new Reply(TestCertificates.dnsNames(peer), peer.getSerialNumber(), "");
    }
  }

  private Reply get(String name, String path) throws Exception {
    return assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      try (SSLSocket s = open(name, true)) {
        X509Certificate peer = (X509Certificate) s.getSession().getPeerCertificates()[0];
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        return new Reply(TestCertificates.dnsNames(peer), peer.getSerialNumber(), readAll(s.getInputStream()));
      }
    });
  }

  private SSLSocket open(String name, boolean verifyName) throws IOException {
    SSLContext ctx = ca.clientContext();
    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", gw.gateway().tlsPort());
    s.setSoTimeout(20_000);
    SSLParameters p = s.getSSLParameters();
    if (name != null) {
      p.setServerNames(List.of(new SNIHostName(name)));
    }
    if (name != null && verifyName) {
      p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must be for that name
    }
    s.setSSLParameters(p);
    s.startHandshake();
    return s;
  }

  private static String readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    in.transferTo(out);
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  private static java.math.BigInteger serialOf(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return ((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in))
          .getSerialNumber();
    }
  }
}
