package dev.keystone.engine;

import dev.keystone.testing.Await;
import dev.keystone.testing.GatewayProcess;
import dev.keystone.testing.NodeEngine;
import dev.keystone.testing.TapOutput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine conformance suite ({@code engines/conformance/run.js}, the check any engine author
 * runs) against both reference engines, each a real process on a Unix socket: the Java/Lua
 * engine and the Node.js engine. Each serves a copy of the suite's scripts for its language, so
 * the suite may add a broken script (reload errors) and signal the process (SIGHUP).
 */
class EngineConformanceTest {

  static final Path SUITE = Path.of("engines/conformance/run.js").toAbsolutePath();

  @Test
  void theJavaEnginePassesTheConformanceSuite(@TempDir Path dir) throws Exception {
    Path scripts = copyScripts("lua", dir);
    Path socket = dir.resolve("java.sock");
    try (GatewayProcess engine = GatewayProcess.start(dir, List.of(), "engine", "--scripts", scripts.toString(),
        "--listen", "unix:" + socket, "--event-loops", "2")) {
      Await.until("the Java engine listens", Duration.ofSeconds(30), () -> Files.exists(socket));
      // With its log file: the log checks (lines a call, a second per tenant, quoting) run too.
      assertPasses(runSuite(socket, scripts, engine.pid(), engine.logFile()));
    }
  }

  @Test
  void theNodeEnginePassesTheConformanceSuite(@TempDir Path dir) throws Exception {
    NodeEngine.ensureInstalled();
    Path scripts = copyScripts("js", dir);
    Path socket = dir.resolve("node.sock");
    Process node = new ProcessBuilder("node", Path.of("engines/node/engine.js").toAbsolutePath().toString(),
        "--scripts", scripts.toString(), "--listen", "unix:" + socket)
        .redirectErrorStream(true).redirectOutput(dir.resolve("node.log").toFile()).start();
    try {
      Await.until("the Node.js engine listens", Duration.ofSeconds(30), () -> Files.exists(socket) || !node.isAlive());
      assertThat(node.isAlive()).as("node engine running: " + Files.readString(dir.resolve("node.log"))).isTrue();
      // With its log file: the log checks (lines a call, a second per tenant, quoting) run too.
      assertPasses(runSuite(socket, scripts, node.pid(), dir.resolve("node.log")));
    } finally {
      node.destroy();
      node.waitFor(10, TimeUnit.SECONDS);
      node.destroyForcibly();
    }
  }

  /**
   * The Python engine (engines/python) on Debian's CPython with its seccomp filter: the whole
   * suite, hostile checks included, must pass with the scripts run in sandboxed workers.
   */
  @Test
  void thePythonEnginePassesTheConformanceSuite(@TempDir Path dir) throws Exception {
    Path scripts = copyScripts("py", dir);
    Path socket = dir.resolve("python.sock");
    Path log = dir.resolve("python.log");
    Process python = new ProcessBuilder(debianPython(), Path.of("engines/python/engine.py").toAbsolutePath().toString(),
        "--scripts", scripts.toString(), "--listen", "unix:" + socket)
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      Await.until("the Python engine listens", Duration.ofSeconds(30), () -> Files.exists(socket) || !python.isAlive());
      assertThat(python.isAlive()).as("python engine running: " + Files.readString(log)).isTrue();
      assertThat(Files.readString(log)).doesNotContain("WITHOUT a seccomp filter");
      assertPasses(runSuite(socket, scripts, python.pid(), log));
      python.destroy(); // SIGTERM: a graceful stop
      assertThat(python.waitFor(15, TimeUnit.SECONDS)).isTrue();
      assertThat(python.exitValue()).as(Files.readString(log)).isZero();
    } finally {
      python.destroyForcibly();
    }
  }

  /** Debian's CPython, which has python3-seccomp (.ci/run installs both), else the first python3. */
  static String debianPython() {
    return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
  }

  static void assertPasses(String tap) {
    assertThat(tap).as(TapOutput.failuresFirst(tap)).doesNotContain("not ok").contains("ok 1 - ");
    long checks = tap.lines().filter(l -> l.startsWith("ok ")).count();
    assertThat(checks).as("the whole suite ran").isGreaterThan(100);
    assertThat(tap).as("the params group ran").contains(" - params: a number a double cannot hold (1e400): 400 naming params");
  }

  /** Runs the suite against the engine at {@code socket}; its TAP output, after asserting exit 0. */
  static String runSuite(Path socket, Path scripts, long pid, Path engineLog) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("node", SUITE.toString(), "--engine", "unix:" + socket,
        "--scripts-dir", scripts.toString(), "--pid", Long.toString(pid), "--timeout", "10000"));
    if (engineLog != null) {
      cmd.addAll(List.of("--engine-log", engineLog.toString()));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  static Path copyScripts(String lang, Path dir) throws IOException {
    Path from = Path.of("engines/conformance/scripts", lang);
    Path to = dir.resolve("scripts");
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Path target = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(target);
        } else {
          Files.copy(f, target);
        }
      }
    }
    return to;
  }
}
