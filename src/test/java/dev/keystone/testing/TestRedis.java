package dev.keystone.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real Redis (Debian's redis-server, installed by .ci/run) on a loopback port for a test, kept
 * in memory only: {@link #stop()} loses its data, as a restarted cache would.
 */
public final class TestRedis implements AutoCloseable {

  private final Path dir;
  private final int port;
  private Process process;

  public TestRedis(Path dir) {
    this.dir = dir;
    this.port = freePort();
    start();
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public synchronized void start() {
    try {
      process = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
          "--save", "", "--appendonly", "no", "--dir", dir.toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile())).start();
      Await.until("redis listens on " + port, Duration.ofSeconds(30), () -> {
        try (Socket s = new Socket("127.0.0.1", port)) {
          return true;
        } catch (IOException e) {
          return false;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("redis (Debian's redis-server) did not start", e);
    }
  }

  /** Kills Redis; {@link #start()} brings an empty one back on the same port. */
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

  @Override
  public void close() {
    stop();
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
