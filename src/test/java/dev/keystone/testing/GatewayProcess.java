package dev.keystone.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway as its own process (java + the test classpath + {@code dev.keystone.app.Main}), for
 * what only a process shows: the command line, signals, exit codes and a bounded heap.
 */
public final class GatewayProcess implements AutoCloseable {

  private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");

  private final Process process;
  private final Path log;
  private int port = -1;

  private GatewayProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Starts {@code Main} with {@code args} in {@code dir}; {@code jvmArgs} go before the class name. */
  public static GatewayProcess start(Path dir, List<String> jvmArgs, String... args) {
    try {
      Path log = Files.createTempFile("keystone-process", ".log");
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(jvmArgs);
      String leaks = System.getProperty("io.netty.leakDetection.level");
      if (leaks != null) {
        cmd.add("-Dio.netty.leakDetection.level=" + leaks); // the tests' leak detection, in this process too
      }
      if (Boolean.getBoolean("keystone.yaml.crosscheck")) {
        cmd.add("-Dkeystone.yaml.crosscheck=true"); // both YAML readers, in this process too
      }
      String tokens = System.getProperty("keystone.admin.token-dir");
      if (tokens != null) {
        cmd.add("-Dkeystone.admin.token-dir=" + tokens); // a generated admin token: not into ~/.keystone
      }
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add("dev.keystone.app.Main");
      cmd.addAll(List.of(args));
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      return new GatewayProcess(p, log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs {@code Main} to completion (for validate, --version) and returns exit code and output. */
  public static Result run(Path dir, String... args) {
    return run(dir, List.of(), args);
  }

  /** The same with JVM options (a small heap). */
  public static Result run(Path dir, List<String> jvmArgs, String... args) {
    GatewayProcess p = start(dir, jvmArgs, args);
    try {
      if (!p.process.waitFor(60, TimeUnit.SECONDS)) {
        p.process.destroyForcibly();
        throw new AssertionError("did not finish: " + p.output());
      }
      return new Result(p.process.exitValue(), p.output());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Exit code and everything printed. */
  public record Result(int exitCode, String output) {
  }

  /** Waits for the "listening on" line and returns the port it names. */
  public int awaitListening() {
    Await.until("the gateway prints its listening line:\n" + output(), Duration.ofSeconds(30), () -> {
      if (!process.isAlive()) {
        throw new AssertionError("the gateway exited early:\n" + output());
      }
      Matcher m = LISTENING.matcher(output());
      if (m.find()) {
        port = Integer.parseInt(m.group(1));
        return true;
      }
      return false;
    });
    return port;
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  /** The processes it started (and theirs), as they are now. */
  public List<ProcessHandle> descendants() {
    return process.descendants().toList();
  }

  /** The file the process's standard output and error go to. */
  public Path logFile() {
    return log;
  }

  public String output() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no output: " + e + ")";
    }
  }

  /** Sends a signal by name (TERM, HUP) to this process only. */
  public void signal(String name) {
    try {
      int rc = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
      if (rc != 0) {
        throw new AssertionError("kill -" + name + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public int waitForExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("the gateway did not exit:\n" + output());
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The admin listener's port, from the line the gateway prints once it listens. */
  public int adminPort() {
    Pattern admin = Pattern.compile("admin API and dashboard on http://[^:]+:(\\d+)/");
    Await.until("the admin listener's line", Duration.ofSeconds(30), () -> admin.matcher(output()).find());
    Matcher m = admin.matcher(output());
    m.find();
    return Integer.parseInt(m.group(1));
  }

  /** Leak reports of Netty's detector in this process's output (none expected). */
  public java.util.List<String> leakReports() {
    return output().lines().filter(l -> l.contains("LEAK:")).toList();
  }

  /** Peak resident memory of the process in KiB (VmHWM), or -1 where /proc is missing. */
  public long peakRssKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("\\D", ""));
        }
      }
    } catch (IOException e) {
      // not Linux
    }
    return -1;
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      // Its children too: an engine it supervises without a sandbox does not die with it (a
      // killed gateway left its Node engine running).
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

}
