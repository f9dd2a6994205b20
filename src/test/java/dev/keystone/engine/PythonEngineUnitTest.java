package dev.keystone.engine;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Python engine's own tests (engines/python/test, Python's unittest: deadline kills, memory
 * limits, seccomp denials, one tenant looping while another answers), run as part of the README's
 * {@code mvn -B test} so that CI runs them.
 */
class PythonEngineUnitTest {

  @Test
  void thePythonEnginesOwnTestsPass() throws Exception {
    Process p = new ProcessBuilder(EngineConformanceTest.debianPython(), "-m", "unittest", "discover", "-s", "test", "-v")
        .directory(Path.of("engines/python").toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).as(out).contains("\nOK").doesNotContain("skipped");
  }
}
