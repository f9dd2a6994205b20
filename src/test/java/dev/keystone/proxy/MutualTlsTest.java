package dev.keystone.proxy;

import dev.keystone.testing.ClientCertificates;
import dev.keystone.testing.H2Wire;
import dev.keystone.testing.LogCapture;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestCertificates;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Client certificates per tenant ({@code client_ca}): a tenant that requires them is reached only
 * with a certificate from its CA, on a connection made for its name; the verified subject reaches
 * the backend (never a client's own header of that name) and the access log; plain HTTP is refused;
 * {@code optional} serves clients without one.
 */
class MutualTlsTest {

  @TempDir
  static Path dir;
  static TestCertificates servers;
  static ClientCertificates partners;
  static ClientCertificates strangers;
  static Vertx vertx;
  static TestBackend backend;
  static TestCertificates.Issued p;
  static TestCertificates.Issued o;
  static TestCertificates.Issued m;
  static TestCertificates.Issued wild;
  static TestCertificates.Issued y;
  TestGateway gw;

  @BeforeAll
  static void certificates() throws Exception {
    servers = TestCertificates.in(dir);
    partners = ClientCertificates.ca(dir, "partners");
    strangers = ClientCertificates.ca(dir, "strangers");
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "B");
    p = servers.issue("partner", "partner.test"); // (keytool: seconds each, so once for the class)
    o = servers.issue("open", "open.test");
    m = servers.issue("maybe", "maybe.test");
    wild = servers.issue("wild", "*.w.test");
    y = servers.issue("y", "y.w.test");
  }

  @AfterAll
  static void stop() {
    backend.close();
    vertx.close();
  }

  @BeforeEach
  void start() {
    gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        tenants:
          - name: partner
            domains: [partner.test]
            tls: { cert: "%s", key: "%s" }
            client_ca: "%s"
            services: [{ name: p, url: "%s" }]
          - name: open
            domains: [open.test]
            tls: { cert: "%s", key: "%s" }
            services: [{ name: o, url: "%s" }]
          - name: maybe
            domains: [maybe.test]
            tls: { cert: "%s", key: "%s" }
            client_ca: "%s"
            client_auth: optional
            services: [{ name: m, url: "%s" }]
          - name: wild-secure
            domains: ["*.w.test"]
            tls: { cert: "%s", key: "%s" }
            client_ca: "%s"
            services: [{ name: w, url: "%s" }]
          - name: y-strangers
            domains: [y.w.test]
            tls: { cert: "%s", key: "%s" }
            client_ca: "%s"
            services: [{ name: y, url: "%s" }]
        """.formatted(p.cert(), p.key(), partners.caPem(), backend.url(), o.cert(), o.key(), backend.url(),
        m.cert(), m.key(), partners.caPem(), backend.url(), wild.cert(), wild.key(), partners.caPem(), backend.url(),
        y.cert(), y.key(), strangers.caPem(), backend.url()));
  }

  @AfterEach
  void stopGateway() {
    gw.close();
  }

  /** An HTTP/1.1 GET over a connection made for {@code sni}, with {@code host}; the answer's text. */
  private String get(SSLContext ctx, String sni, String host, String extraHeader) throws Exception {
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", gw.gateway().tlsPort())) {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(sni)));
      s.setSSLParameters(params);
      s.getOutputStream().write(("GET /x HTTP/1.1\r\nHost: " + host + "\r\n" + extraHeader + "Connection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      s.getInputStream().transferTo(out);
      return out.toString(StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void aPartnerWithACertificateFromItsCaIsServedAndNamedToTheBackend() throws Exception {
    SSLContext partner = partners.client("O=Partner,CN=partner-1", servers);
    try (LogCapture log = LogCapture.accessLog()) {
      String answer = get(partner, "partner.test", "partner.test", "X-Client-Cert-Subject: CN=admin\r\n");
      assertThat(answer).startsWith("HTTP/1.1 200").endsWith("B /x");
      assertThat(backend.last().headers().getAll("X-Client-Cert-Subject")).containsExactly("CN=partner-1,O=Partner");
      assertThat(log.awaitOne("tenant=partner")).contains(" client_cert=\"CN=partner-1,O=Partner\"");
    }
    // HTTP/2 on the same terms: the stream's connection carries the certificate
    try (H2Wire h2 = new H2Wire(partner, gw.gateway().tlsPort(), "partner.test")) {
      h2.headers(1, H2Wire.request("GET", "/h2", "partner.test", "x-client-cert-subject", "CN=admin"), true);
      assertThat(h2.status(1)).isEqualTo(200);
    }
    assertThat(backend.last().headers().getAll("X-Client-Cert-Subject")).containsExactly("CN=partner-1,O=Partner");
  }

  @Test
  void withoutACertificateOrWithAStrangersTheHandshakeFails() throws Exception {
    assertThatThrownBy(() -> get(servers.clientContext(), "partner.test", "partner.test", ""))
        .isInstanceOfAny(SSLException.class, java.net.SocketException.class);
    SSLContext stranger = strangers.client("CN=mallory", servers);
    assertThatThrownBy(() -> get(stranger, "partner.test", "partner.test", ""))
        .isInstanceOfAny(SSLException.class, java.net.SocketException.class);
    int before = backend.requests();
    assertThat(get(servers.clientContext(), "open.test", "open.test", "")).startsWith("HTTP/1.1 200");
    assertThat(backend.requests()).isEqualTo(before + 1);
  }

  @Test
  void aConnectionMadeForAnotherNameIsMisdirectedAndPlainHttpIsRefused() throws Exception {
    int before = backend.requests();
    // no certificate asked for open.test's handshake: partner.test is not reached through it
    try (LogCapture log = LogCapture.accessLog()) {
      String misdirected = get(servers.clientContext(), "open.test", "partner.test", "X-Client-Cert-Subject: CN=partner-1,O=Partner\r\n");
      assertThat(misdirected).startsWith("HTTP/1.1 421 Misdirected Request\r\n");
      assertThat(log.awaitOne("status=421")).contains("error=\"the TLS handshake was for open.test, whose client certificates are not tenant partner's: connect with its name\"");
      var plain = gw.get("/x", "Host", "partner.test");
      assertThat(plain.statusCode()).isEqualTo(403);
      assertThat(log.awaitOne("status=403")).contains("error=\"tenant partner requires a client certificate: use HTTPS\"");
    }
    assertThat(backend.requests()).as("neither reached the backend").isEqualTo(before);
    // a partner's connection may reach a tenant that checks nothing
    assertThat(get(partners.client("O=Partner,CN=partner-1", servers), "partner.test", "open.test", "")).startsWith("HTTP/1.1 200");
  }

  @Test
  void aClientsOwnSubjectHeaderNeverReachesTheBackendOfATenantWithoutClientCertificates() throws Exception {
    // Only the gateway says who a client is. It removed a client's X-Client-Cert-Subject for
    // tenants with client_ca only: a backend shared with such a tenant, or a tenant given one
    // later, took the client's word for a verified subject.
    assertThat(get(servers.clientContext(), "open.test", "open.test", "X-Client-Cert-Subject: CN=admin,O=Partner\r\n"))
        .startsWith("HTTP/1.1 200");
    assertThat(backend.last().headers().getAll("X-Client-Cert-Subject")).isEmpty();
    assertThat(gw.get("/x", "Host", "open.test", "X-Client-Cert-Subject", "CN=admin,O=Partner").statusCode()).isEqualTo(200);
    assertThat(backend.last().headers().getAll("X-Client-Cert-Subject")).isEmpty();
  }

  @Test
  void optionalServesClientsWithAndWithoutACertificate() throws Exception {
    assertThat(get(servers.clientContext(), "maybe.test", "maybe.test", "X-Client-Cert-Subject: CN=forged\r\n")).startsWith("HTTP/1.1 200");
    assertThat(backend.last().headers().getAll("X-Client-Cert-Subject")).as("the forged header is removed").isEmpty();
    assertThat(get(partners.client("O=Partner,CN=partner-2", servers), "maybe.test", "maybe.test", "")).startsWith("HTTP/1.1 200");
    assertThat(backend.last().headers().get("X-Client-Cert-Subject")).isEqualTo("CN=partner-2,O=Partner");
    assertThat(gw.get("/x", "Host", "maybe.test").statusCode()).as("plain HTTP: no certificate, optional").isEqualTo(200);
  }

  @Test
  void aCertificateVerifiedForOneTenantsCaNeverOpensAnotherWhoseNameItCovers() throws Exception {
    // Attack s14b-1: the handshake for y.w.test asked for a strangers' certificate; the request
    // for z.w.test (the wildcard tenant, which wants partners) was let through because the
    // wildcard tenant "serves" y.w.test's name too.
    int before = backend.requests();
    SSLContext stranger = strangers.client("CN=mallory", servers);
    assertThat(get(stranger, "y.w.test", "z.w.test", "")).startsWith("HTTP/1.1 421 ");
    assertThat(get(stranger, "y.w.test", "y.w.test", "")).startsWith("HTTP/1.1 200 ");
    assertThat(backend.last().headers().get("X-Client-Cert-Subject")).isEqualTo("CN=mallory");
    assertThat(backend.requests()).isEqualTo(before + 1);
    SSLContext partner = partners.client("O=Partner,CN=partner-1", servers);
    assertThat(get(partner, "z.w.test", "z.w.test", "")).startsWith("HTTP/1.1 200 ");
  }

  private static org.bouncycastle.asn1.x500.X500Name subject(String organisation, String cn) {
    return new org.bouncycastle.asn1.x500.X500NameBuilder(org.bouncycastle.asn1.x500.style.BCStyle.INSTANCE)
        .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.O, organisation)
        .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, cn).build();
  }

  @Test
  void everySubjectReachesTheBackendAsDistinctAsciiText() throws Exception {
    // Attack s14b-2 and -3: the header was Latin-1, so Иван and Петр both arrived as "????";
    // a CR or LF in a subject failed the header (a 500 and a stack trace per request).
    String ivan = get(partners.client(subject("Bank", "Иван"), servers), "partner.test", "partner.test", "");
    assertThat(ivan).startsWith("HTTP/1.1 200 ");
    assertThat(backend.last().headers().get("X-Client-Cert-Subject")).isEqualTo("CN=\\D0\\98\\D0\\B2\\D0\\B0\\D0\\BD,O=Bank");
    get(partners.client(subject("Bank", "Петр"), servers), "partner.test", "partner.test", "");
    assertThat(backend.last().headers().get("X-Client-Cert-Subject")).isEqualTo("CN=\\D0\\9F\\D0\\B5\\D1\\82\\D1\\80,O=Bank");
    try (LogCapture severe = LogCapture.of("keystone")) {
      String crlf = get(partners.client(subject("Bank", "x\r\nX-Injected: yes"), servers), "partner.test", "partner.test", "");
      assertThat(crlf).startsWith("HTTP/1.1 200 ");
      assertThat(backend.last().headers().get("X-Client-Cert-Subject")).isEqualTo("CN=x\\0D\\0AX-Injected: yes,O=Bank");
      assertThat(backend.last().headers().contains("X-Injected")).isFalse();
      assertThat(severe.lines()).noneMatch(l -> l.contains("unhandled"));
    }
  }
}
