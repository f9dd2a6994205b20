package dev.keystone.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Let's Encrypt's ACME test server (Debian's {@code pebble} package) and its mock DNS
 * ({@code pebble-challtestsrv}, answering every name with 127.0.0.1), started for a test on
 * loopback ports. Pebble validates HTTP-01 challenges on {@code httpPort} of 127.0.0.1: the
 * gateway's plain listener. Its own HTTPS certificate comes from a {@link TestCertificates} CA,
 * which a client must trust ({@link #trust()}).
 */
public final class Pebble implements AutoCloseable {

  private final List<Process> processes = new ArrayList<>();
  private final TestCertificates ca;
  private final int port;
  private int management;

  private Pebble(TestCertificates ca, int port) {
    this.ca = ca;
    this.port = port;
  }

  /**
   * What Pebble's management interface says of the certificate with {@code serial}: its JSON,
   * whose {@code Status} is "Valid" or "Revoked".
   */
  public String certificateStatus(java.math.BigInteger serial) throws Exception {
    var client = java.net.http.HttpClient.newBuilder().sslContext(trust()).build();
    return client.send(java.net.http.HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + management
        + "/cert-status-by-serial/" + serial.toString(16))).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
  }

  /** Starts both in {@code dir}, validating HTTP-01 on 127.0.0.1:{@code httpPort}. */
  public static Pebble start(Path dir, int httpPort) throws Exception {
    return start(dir, httpPort, freePort());
  }

  /** The same, validating TLS-ALPN-01 on 127.0.0.1:{@code tlsPort}. */
  public static Pebble start(Path dir, int httpPort, int tlsPort) throws Exception {
    return start(dir, httpPort, tlsPort, 0);
  }

  /** The same, issuing certificates valid for {@code validitySeconds} (0: Pebble's five years). */
  public static Pebble start(Path dir, int httpPort, int tlsPort, long validitySeconds) throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/pebble")) || !Files.isExecutable(Path.of("/usr/bin/pebble-challtestsrv"))) {
      throw new AssertionError("the ACME tests need Debian's pebble package: apt-get install -y pebble (.ci/run does)");
    }
    Files.createDirectories(dir);
    TestCertificates ca = TestCertificates.in(dir);
    TestCertificates.Issued own = ca.issue("pebble", "localhost", "ip:127.0.0.1");
    int dns = freePort();
    int port = freePort();
    int management = freePort();
    int challManagement = freePort();
    Pebble p = new Pebble(ca, port);
    p.management = management;
    try {
      p.spawn(dir, "challtestsrv", Map.of(), "/usr/bin/pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
          "-dns01", "127.0.0.1:" + dns, "-http01", "", "-https01", "", "-tlsalpn01", "",
          "-management", "127.0.0.1:" + challManagement);
      Files.writeString(dir.resolve("pebble-config.json"), """
          {"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": "127.0.0.1:%d",
            "certificate": "%s", "privateKey": "%s", "httpPort": %d, "tlsPort": %d,
            "ocspResponderURL": "", "externalAccountBindingRequired": false%s}}
          """.formatted(port, management, own.cert(), own.key(), httpPort, tlsPort,
          validitySeconds > 0 ? ", \"certificateValidityPeriod\": " + validitySeconds : ""));
      // no random sleep before validating, no random nonce rejections: a test is deterministic
      p.spawn(dir, "pebble", Map.of("PEBBLE_VA_NOSLEEP", "1", "PEBBLE_WFE_NONCEREJECT", "0"), "/usr/bin/pebble",
          "-config", dir.resolve("pebble-config.json").toString(), "-dnsserver", "127.0.0.1:" + dns);
      Await.until("pebble listening", Duration.ofSeconds(30), () -> listening(port) && listening(dns));
      return p;
    } catch (Exception | AssertionError e) {
      p.close();
      throw e;
    }
  }

  /** The ACME directory URL. */
  public URI directory() {
    return URI.create("https://127.0.0.1:" + port + "/dir");
  }

  /** The PEM of the CA of Pebble's own HTTPS certificate (an {@code acme.ca_root}). */
  public Path caPem() {
    return ca.caPem();
  }

  /** A client context that trusts Pebble's HTTPS certificate. */
  public javax.net.ssl.SSLContext trust() {
    return ca.clientContext();
  }

  private void spawn(Path dir, String name, Map<String, String> env, String... cmd) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    pb.environment().putAll(env);
    processes.add(pb.start());
  }

  private static boolean listening(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** A loopback port free now (for a server whose port must be known before it starts). */
  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
