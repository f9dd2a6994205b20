package dev.keystone.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd cluster of several members (Debian's etcd-server) on loopback ports, each with its
 * own data directory: a member killed with {@link #stop(int)} comes back with {@link #start(int)}.
 */
public final class TestEtcdCluster implements AutoCloseable {

  private final Path dir;
  private final int[] clientPorts;
  private final int[] peerPorts;
  private final Process[] processes;

  public TestEtcdCluster(Path dir, int members) {
    this.dir = dir;
    this.clientPorts = new int[members];
    this.peerPorts = new int[members];
    this.processes = new Process[members];
    int[] ports = freePorts(2 * members);
    for (int i = 0; i < members; i++) {
      clientPorts[i] = ports[2 * i];
      peerPorts[i] = ports[2 * i + 1];
    }
    for (int i = 0; i < members; i++) {
      launch(i); // all at once: each waits for the others to elect a leader
    }
    for (int i = 0; i < members; i++) {
      awaitListening(i);
    }
  }

  /** {@code host:port,host:port,...} for a store URL. */
  public String hosts() {
    List<String> h = new ArrayList<>();
    for (int p : clientPorts) {
      h.add("127.0.0.1:" + p);
    }
    return String.join(",", h);
  }

  public List<String> endpoints() {
    List<String> e = new ArrayList<>();
    for (int p : clientPorts) {
      e.add("http://127.0.0.1:" + p);
    }
    return e;
  }

  private String initialCluster() {
    List<String> c = new ArrayList<>();
    for (int i = 0; i < peerPorts.length; i++) {
      c.add("m" + i + "=http://127.0.0.1:" + peerPorts[i]);
    }
    return String.join(",", c);
  }

  private synchronized void launch(int i) {
    try {
      String client = "http://127.0.0.1:" + clientPorts[i];
      String peer = "http://127.0.0.1:" + peerPorts[i];
      Path data = dir.resolve("m" + i);
      processes[i] = new ProcessBuilder("etcd", "--name", "m" + i, "--data-dir", data.toString(),
          "--listen-client-urls", client, "--advertise-client-urls", client,
          "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
          "--initial-cluster", initialCluster(), "--initial-cluster-token", "keystone-test",
          "--initial-cluster-state", "new")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("m" + i + ".log").toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("etcd (Debian's etcd-server) did not start", e);
    }
  }

  private void awaitListening(int i) {
    Await.until("etcd member m" + i + " listens", Duration.ofSeconds(30), () -> {
      try (Socket s = new Socket("127.0.0.1", clientPorts[i])) {
        return true;
      } catch (IOException e) {
        return false;
      }
    });
  }

  /** Brings member {@code i} back with its data. */
  public void start(int i) {
    launch(i);
    awaitListening(i);
  }

  /**
   * Freezes member {@code i} (SIGSTOP): its sockets stay open and answer nothing, as a member cut
   * off from the others by a partition looks to a client; {@link #thaw(int)} lets it go on.
   */
  public void freeze(int i) {
    signal(i, "STOP");
  }

  public void thaw(int i) {
    signal(i, "CONT");
  }

  private synchronized void signal(int i, String sig) {
    try {
      new ProcessBuilder("kill", "-" + sig, Long.toString(processes[i].pid())).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Kills member {@code i}, as a crash would. */
  public synchronized void stop(int i) {
    Process p = processes[i];
    if (p != null) {
      signal(i, "CONT"); // a frozen member is killed as well
      p.destroyForcibly();
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      processes[i] = null;
    }
  }

  public String log(int i) {
    try {
      return Files.readString(dir.resolve("m" + i + ".log"));
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() {
    for (int i = 0; i < processes.length; i++) {
      stop(i);
    }
  }

  /**
   * {@code n} distinct free ports: every socket is held until all are chosen (closed one by one,
   * the kernel may hand the same port out again: a member then failed to bind, CI at 832b6b6).
   */
  static int[] freePorts(int n) {
    List<ServerSocket> held = new ArrayList<>();
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        held.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket s : held) {
        try {
          s.close();
        } catch (IOException e) {
          // closing a probe socket
        }
      }
    }
  }
}
