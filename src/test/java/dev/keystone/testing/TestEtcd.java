package dev.keystone.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd (Debian's etcd-server, installed by .ci/run) on loopback ports for a test, with its
 * data in a directory of the test's: {@link #stop()} and {@link #start()} again keep the data, as
 * an etcd restarted after a crash does.
 */
public final class TestEtcd implements AutoCloseable {

  private final Path dir;
  private final int clientPort;
  private final int peerPort;
  private Process process;

  public TestEtcd(Path dir) {
    this.dir = dir;
    int[] ports = TestEtcdCluster.freePorts(2); // distinct: two closed probes may get the same port
    this.clientPort = ports[0];
    this.peerPort = ports[1];
    start();
  }

  public String endpoint() {
    return "http://127.0.0.1:" + clientPort;
  }

  public List<String> endpoints() {
    return List.of(endpoint());
  }

  public synchronized void start() {
    try {
      String peer = "http://127.0.0.1:" + peerPort;
      process = new ProcessBuilder("etcd", "--name", "t", "--data-dir", dir.resolve("data").toString(),
          "--listen-client-urls", endpoint(), "--advertise-client-urls", endpoint(),
          "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "t=" + peer)
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("etcd.log").toFile())).start();
      // healthy, not only listening: it accepts connections before it has replayed its log and
      // elected itself, and a test's first write then waited out its deadline on a slow host
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      Await.until("etcd answers healthy on " + endpoint(), Duration.ofSeconds(30), () -> {
        try (Socket s = new Socket("127.0.0.1", clientPort)) {
          s.close();
          return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(endpoint() + "/health"))
                  .timeout(Duration.ofSeconds(2)).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
              .body().replace(" ", "").contains("\"health\":\"true\"");
        } catch (IOException e) {
          return false;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("etcd (Debian's etcd-server) did not start", e);
    }
  }

  /** Kills etcd (as a crash would); {@link #start()} brings it back with its data. */
  public synchronized void stop() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  public String log() {
    try {
      return Files.readString(dir.resolve("etcd.log"));
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() {
    stop();
  }
}
