package dev.keystone.acme;

import dev.keystone.testing.Await;
import dev.keystone.testing.Pebble;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestCertificates;
import dev.keystone.testing.TestGateway;
import dev.keystone.testing.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ACME in a cluster (issue 17): gateways sharing a state store order each certificate once, from
 * one instance under a lock, answer each other's HTTP-01 challenges (the CA validates through
 * whichever instance the load balancer picks) and all serve the certificate; with the store down
 * an instance without a certificate orders its own.
 */
class ClusterAcmeTest {

  @TempDir
  Path dir;
  Vertx vertx;
  TestBackend backend;
  TestRedis redis;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "shop");
    redis = new TestRedis(dir);
  }

  @AfterEach
  void stop() {
    redis.close();
    backend.close();
    vertx.close();
  }

  String yaml(Pebble pebble, String stateStore, String dataDir, int listen) {
    return """
        listen: 127.0.0.1:%d
        tls_listen: 127.0.0.1:0
        state_store: %s
        acme: { directory: "%s", email: ops@shop.test, ca_root: "%s", data_dir: "%s" }
        tenants:
          - name: shop
            domains: [shop.test]
            tls: auto
            services: [{ name: s, url: "%s" }]
        """.formatted(listen, stateStore, pebble.directory(), pebble.caPem(), dir.resolve(dataDir), backend.url());
  }

  @Test
  void oneInstanceOrdersAnotherAnswersItsChallengeAndEveryInstanceServesTheCertificate() throws Exception {
    int validated = Pebble.freePort(); // where Pebble validates HTTP-01: the "load balancer" below
    try (Relay balancer = new Relay(validated); Pebble pebble = Pebble.start(dir.resolve("pebble"), validated)) {
      try (TestGateway a = TestGateway.start(yaml(pebble, redis.url(), "data-a", 0))) {
        // a orders under the lock; the CA's validation is held at the balancer until b is up
        Await.until("a's challenge open", Duration.ofSeconds(30), () -> a.gateway().acmeTokens().size() == 1);
        try (TestGateway b = TestGateway.start(yaml(pebble, redis.url(), "data-b", 0))) {
          Await.until("b answers a's challenge too", Duration.ofSeconds(10), () -> b.gateway().acmeTokens().size() == 1);
          balancer.to(b.port()); // the CA's validation reaches b, which did not order
          Await.until("both serve the certificate", Duration.ofSeconds(60),
              () -> leafOrNull(a) != null && leafOrNull(b) != null);
          X509Certificate served = leaf(a);
          assertThat(served.getIssuerX500Principal().getName()).contains("Pebble");
          assertThat(leaf(b).getSerialNumber()).isEqualTo(served.getSerialNumber());
          assertThat(balancer.connections()).as("the validation went through b").isGreaterThanOrEqualTo(1);
          assertThat(a.gateway().acmeOrders(true)).isEqualTo(1);
          assertThat(b.gateway().acmeOrders(true)).as("b ordered nothing").isZero();
          assertThat(b.gateway().acmeOrders(false)).isZero();
          assertThat(b.gateway().acmeTokens().size()).as("the answer is taken away on b too").isZero();
          var events = new JsonObject(b.admin("GET", "/api/v1/events").body()).getJsonArray("events");
          assertThat(events.stream().map(o -> (JsonObject) o).filter(o -> "certificate".equals(o.getString("kind")))
              .map(o -> o.getString("detail")).toList()).singleElement().asString().startsWith("from the cluster's state store");
          assertThat(Files.readString(only(dir.resolve("data-b/certificates")).resolve("certificate.pem")))
              .as("b keeps it in its data_dir: served at once after a restart, even with Redis down")
              .contains("BEGIN CERTIFICATE").contains("BEGIN PRIVATE KEY");
          assertThat(dir.resolve("data-b/account.key")).as("b never needed an ACME account").doesNotExist();

          // an instance started later serves the kept certificate without ordering
          try (TestGateway c = TestGateway.start(yaml(pebble, redis.url(), "data-c", 0))) {
            Await.until("c serves it", Duration.ofSeconds(30), () -> leafOrNull(c) != null);
            assertThat(leaf(c).getSerialNumber()).isEqualTo(served.getSerialNumber());
            assertThat(c.gateway().acmeOrders(true) + c.gateway().acmeOrders(false)).isZero();
          }
        }
      }
    }
  }

  @Test
  void aFailedOrderHoldsTheWholeClusterBackNotEachInstanceInTurn() throws Exception {
    String yaml = """
        tls_listen: 127.0.0.1:0
        state_store: %s
        acme: { directory: "https://127.0.0.1:9/dir", data_dir: "%s" }
        tenants:
          - name: shop
            domains: [down.test]
            tls: auto
            services: [{ name: s, url: "%s" }]
        """;
    try (TestGateway a = TestGateway.start(yaml.formatted(redis.url(), dir.resolve("down-a"), backend.url()))) {
      Await.until("a's order failed", Duration.ofSeconds(30), () -> a.gateway().acmeOrders(false) == 1);
      try (TestGateway b = TestGateway.start(yaml.formatted(redis.url(), dir.resolve("down-b"), backend.url()))) {
        Await.until("b decided", Duration.ofSeconds(30), () -> b.gateway().acmePending() == 0);
        assertThat(b.gateway().acmeOrders(false)).as("b waits out the cluster's backoff").isZero();
        assertThat(b.gateway().acmeOrders(true)).isZero();
      }
    }
  }

  @Test
  void aSelfSignedCertificatePlantedInTheStoreIsNotServed() throws Exception {
    // attack s19-acme F4: any chain with its key for the names was adopted, a self-signed one too
    var key = AcmeStore.newKey();
    X509Certificate planted = AcmeTestAccess.validationCertificate("shop.test", key, new byte[32]);
    String pem = "-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'})
        .encodeToString(planted.getEncoded()) + "\n-----END CERTIFICATE-----\n" + AcmeStore.pem(key.getPrivate());
    redisSet("keystone:acme:cert:" + AcmeStore.key(java.util.List.of("shop.test")), pem);
    try (TestGateway gw = TestGateway.start("""
        tls_listen: 127.0.0.1:0
        state_store: %s
        acme: { directory: "https://127.0.0.1:9/dir", data_dir: "%s" }
        tenants:
          - name: shop
            domains: [shop.test]
            tls: auto
            services: [{ name: s, url: "%s" }]
        """.formatted(redis.url(), dir.resolve("data-planted"), backend.url()))) {
      Await.until("its own order failed (the CA is down)", Duration.ofSeconds(30), () -> gw.gateway().acmeOrders(false) == 1);
      assertThat(leafOrNull(gw)).as("the planted certificate is not served").isNull();
      assertThat(dir.resolve("data-planted/certificates")).doesNotExist();
    }
  }

  @Test
  void aDamagedAccountKeyInTheStoreDoesNotStopOrders() throws Exception {
    int http = Pebble.freePort();
    redisSet("keystone:acme:account", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
    try (Pebble pebble = Pebble.start(dir.resolve("pebble-damaged"), http);
         TestGateway gw = TestGateway.start(yaml(pebble, redis.url(), "data-damaged", http))) {
      Await.until("the certificate served", Duration.ofSeconds(60), () -> leafOrNull(gw) != null);
      assertThat(gw.gateway().acmeOrders(true)).isEqualTo(1);
      assertThat(gw.gateway().acmeOrders(false)).isZero();
    }
  }

  void redisSet(String key, String value) throws Exception {
    redisSet(key, value, null);
  }

  void redisSet(String key, String value, String px) throws Exception {
    var r = io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.SET).arg(key).arg(value);
    if (px != null) {
      r.arg("PX").arg(px);
    }
    try (var s = new dev.keystone.state.RedisStore(vertx, redis.url())) {
      s.send(r).toCompletionStage().toCompletableFuture().get();
    }
  }

  @Test
  void withTheStateStoreDownAnInstanceWithoutACertificateWaitsForItThenOrdersItsOwn() throws Exception {
    // a store that fails for a moment (a cold start's slow first call, a Redis restart) must not
    // make every instance of a rollout order its own (attack s19-acme F1); one that stays down must
    // not leave an instance without a certificate for good
    int http = Pebble.freePort();
    String deadRedis = "redis://127.0.0.1:" + Pebble.freePort();
    dev.keystone.testing.TestClock clock = new dev.keystone.testing.TestClock(java.time.Instant.now());
    try (Pebble pebble = Pebble.start(dir.resolve("pebble-alone"), http);
         TestGateway gw = TestGateway.start(yaml(pebble, deadRedis, "data-alone", http), java.util.Map.of(),
             new dev.keystone.gateway.GatewayOptions(2, "test", clock))) {
      Await.until("the first decision", Duration.ofSeconds(30), () -> gw.gateway().acmePending() == 0);
      assertThat(gw.gateway().acmeOrders(true) + gw.gateway().acmeOrders(false)).as("it waits for the store").isZero();
      clock.advance(Duration.ofSeconds(61));
      assertThat(gw.admin("POST", "/api/v1/reload").statusCode()).isEqualTo(200); // a sync, as every minute
      Await.until("the second decision", Duration.ofSeconds(30), () -> gw.gateway().acmePending() == 0);
      assertThat(gw.gateway().acmeOrders(true) + gw.gateway().acmeOrders(false)).as("still waiting").isZero();
      Await.until("the status says so", Duration.ofSeconds(10), () -> "unreachable".equals(
          new JsonObject(gw.admin("GET", "/api/v1/status").body()).getJsonObject("state_store").getString("status")));

      clock.advance(ClusterAcme.ALONE_AFTER);
      assertThat(gw.admin("POST", "/api/v1/reload").statusCode()).isEqualTo(200);
      Await.until("the certificate served", Duration.ofSeconds(60), () -> leafOrNull(gw) != null);
      assertThat(leaf(gw).getIssuerX500Principal().getName()).contains("Pebble");
      assertThat(gw.gateway().acmeOrders(true)).isEqualTo(1);
    }
  }

  @Test
  void aRevocationDuringTheClustersBackoffReplacesTheCertificateOnEveryInstance() throws Exception {
    // attack s19-acme F2: during the backoff after a failed order, renew?revoke=true revoked the
    // certificate and ordered nothing; every instance kept serving the revoked one
    int http = Pebble.freePort();
    try (Pebble pebble = Pebble.start(dir.resolve("pebble-revoke"), http);
         TestGateway a = TestGateway.start(yaml(pebble, redis.url(), "data-ra", http))) {
      Await.until("a serves its certificate", Duration.ofSeconds(60), () -> leafOrNull(a) != null);
      X509Certificate first = leaf(a);
      try (TestGateway b = TestGateway.start(yaml(pebble, redis.url(), "data-rb", 0))) {
        Await.until("b serves it", Duration.ofSeconds(30), () -> leafOrNull(b) != null);
        redisSet("keystone:acme:wait:" + AcmeStore.key(java.util.List.of("shop.test")), "3600000", "3600000");

        assertThat(a.admin("POST", "/api/v1/certificates/shop/renew?revoke=true").statusCode()).isEqualTo(202);
        Await.until("a new certificate on both", Duration.ofSeconds(60), () -> {
          X509Certificate x = leafOrNull(a);
          X509Certificate y = leafOrNull(b);
          return x != null && y != null && !x.getSerialNumber().equals(first.getSerialNumber())
              && x.getSerialNumber().equals(y.getSerialNumber());
        });
        assertThat(pebble.certificateStatus(first.getSerialNumber())).contains("\"Status\": \"Revoked\"");
        // b first: CI saw b order a duplicate just after it adopted a's certificate (its order
        // was queued at its start), whose lock then held a's replacement back
        assertThat(b.gateway().acmeOrders(true) + b.gateway().acmeOrders(false)).as("b ordered nothing").isZero();
        assertThat(a.gateway().acmeOrders(true)).isEqualTo(2);
      }
      // an instance started now gets the replacement, not the revoked one
      try (TestGateway c = TestGateway.start(yaml(pebble, redis.url(), "data-rc", 0))) {
        Await.until("c serves it", Duration.ofSeconds(30), () -> leafOrNull(c) != null);
        assertThat(leaf(c).getSerialNumber()).isEqualTo(leaf(a).getSerialNumber());
      }
    }
  }

  @Test
  void aStartThatFailsOrdersNothing() throws Exception {
    // attack s19-acme L3: the order began before the listeners bound; a start that failed (a port
    // taken) left an order at the CA, a lock and the cluster's backoff behind, at every crash loop
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String yaml = """
          listen: 127.0.0.1:%d
          tls_listen: 127.0.0.1:0
          state_store: %s
          acme: { directory: "https://127.0.0.1:9/dir", data_dir: "%s" }
          tenants:
            - name: shop
              domains: [shop.test]
              tls: auto
              services: [{ name: s, url: "%s" }]
          """.formatted(taken.getLocalPort(), redis.url(), dir.resolve("data-failed"), backend.url());
      Throwable failed = null;
      try (TestGateway gw = TestGateway.start(yaml)) {
        failed = null;
      } catch (RuntimeException | AssertionError e) {
        failed = e;
      }
      assertThat(failed).as("the start fails").hasMessageContaining("Address already in use");
    }
    assertThat(redisKeys()).as("no lock, no backoff, no challenge").isEmpty();
    assertThat(dir.resolve("data-failed/account.key")).as("no account made").doesNotExist();
  }

  @Test
  void nothingIsOrderedUntilTheGatewayListens() throws Exception {
    try (ServerSocket silentCa = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) { // accepts, never answers
      dev.keystone.config.GatewayConfig config = new dev.keystone.config.ConfigLoader().parse("""
          tls_listen: 127.0.0.1:0
          acme: { directory: "https://127.0.0.1:%d/dir", data_dir: "%s" }
          tenants:
            - name: shop
              domains: [shop.test]
              tls: auto
              services: [{ name: s, url: "http://127.0.0.1:9" }]
          """.formatted(silentCa.getLocalPort(), dir.resolve("data-held")), "test.yaml");
      try (AcmeManager m = new AcmeManager(new dev.keystone.model.AcmeTokens(), () -> { }, java.time.Clock.systemUTC(),
          new dev.keystone.model.Events())) {
        m.holdOrders();
        m.sync(config);
        assertThat(m.pending()).as("held").isZero();
        m.startOrdering(config);
        assertThat(m.pending()).as("the order waits on the silent CA").isEqualTo(1);
      }
    }
  }

  String redisKeys() throws Exception {
    try (var s = new dev.keystone.state.RedisStore(vertx, redis.url())) {
      return s.send(io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.KEYS).arg("keystone:acme:*"))
          .toCompletionStage().toCompletableFuture().get().toString().replace("[]", "");
    }
  }

  @Test
  void aRevocationWithTheStateStoreDownIsReplacedAtOnce() throws Exception {
    // attack s19-acme2 N2: with Redis down the replacement of a revoked certificate waited as a
    // renewal does (until a sixth of its life was left): the revoked one stayed served
    int http = Pebble.freePort();
    try (Pebble pebble = Pebble.start(dir.resolve("pebble-revoke-down"), http);
         TestGateway a = TestGateway.start(yaml(pebble, redis.url(), "data-rd", http))) {
      Await.until("a serves its certificate", Duration.ofSeconds(60), () -> leafOrNull(a) != null);
      X509Certificate first = leaf(a);
      redis.stop();
      assertThat(a.admin("POST", "/api/v1/certificates/shop/renew?revoke=true").statusCode()).isEqualTo(202);
      Await.until("the replacement served", Duration.ofSeconds(60), () -> {
        X509Certificate x = leafOrNull(a);
        return x != null && !x.getSerialNumber().equals(first.getSerialNumber());
      });
      assertThat(pebble.certificateStatus(first.getSerialNumber())).contains("\"Status\": \"Revoked\"");
    }
  }

  @Test
  void anIdleGatewaySaysWhenTheStateStoreGoesAndComesBack() throws Exception {
    // attack s19-acme F5: with no traffic through Redis, a killed one was reported connected
    try (TestGateway gw = TestGateway.start("""
        state_store: %s
        tenants:
          - { name: t, path_prefix: /, services: [{ name: s, url: "%s" }] }
        """.formatted(redis.url(), backend.url()))) {
      Await.until("connected", Duration.ofSeconds(10), () -> "connected".equals(stateStore(gw)));
      redis.stop();
      Await.until("unreachable", Duration.ofSeconds(10), () -> "unreachable".equals(stateStore(gw)));
      assertThat(gw.admin("GET", "/metrics").body()).contains("keystone_state_store_up 0\n");
      redis.start();
      Await.until("connected again", Duration.ofSeconds(15), () -> "connected".equals(stateStore(gw)));
    }
  }

  static String stateStore(TestGateway gw) {
    return new JsonObject(gw.admin("GET", "/api/v1/status").body()).getJsonObject("state_store").getString("status");
  }

  static Path only(Path d) throws IOException {
    try (var s = Files.list(d)) {
      return s.findFirst().orElseThrow();
    }
  }

  static X509Certificate leafOrNull(TestGateway gw) {
    try {
      return leaf(gw);
    } catch (Exception e) {
      return null;
    }
  }

  static X509Certificate leaf(TestGateway gw) throws Exception {
    try (SSLSocket s = (SSLSocket) TestCertificates.trustingAnyServer().getSocketFactory()
        .createSocket("127.0.0.1", gw.gateway().tlsPort())) {
      s.setSoTimeout(20_000);
      SSLParameters p = s.getSSLParameters();
      p.setServerNames(java.util.List.of(new SNIHostName("shop.test")));
      s.setSSLParameters(p);
      s.startHandshake();
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  /**
   * A load balancer in front of the instances: accepts on its port, holds each connection until
   * it is told where to send them ({@link #to}), then pipes both ways.
   */
  static final class Relay implements AutoCloseable {
    private final ServerSocket server;
    private volatile int target;
    private final AtomicInteger connections = new AtomicInteger();

    Relay(int port) throws IOException {
      server = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::accept, "relay");
      t.setDaemon(true);
      t.start();
    }

    void to(int port) {
      target = port;
    }

    int connections() {
      return connections.get();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket in = server.accept();
          Thread t = new Thread(() -> relay(in), "relay-conn");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    private void relay(Socket in) {
      try (in) {
        Await.until("the relay's target", Duration.ofSeconds(30), () -> target != 0);
        try (Socket out = new Socket(InetAddress.getLoopbackAddress(), target)) {
          connections.incrementAndGet();
          Thread back = new Thread(() -> pipe(out, in));
          back.setDaemon(true);
          back.start();
          pipe(in, out);
          back.join(10_000);
        }
      } catch (Exception | AssertionError e) {
        // the connection ends
      }
    }

    private static void pipe(Socket from, Socket to) {
      try {
        InputStream i = from.getInputStream();
        OutputStream o = to.getOutputStream();
        i.transferTo(o);
        to.shutdownOutput();
      } catch (IOException e) {
        // closed
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
