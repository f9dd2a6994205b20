package dev.keystone.engine;

import dev.keystone.testing.TapOutput;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Go engine SDK (engines/go): its own tests ({@code go test}, the standard library only, no
 * module downloaded) and the conformance suite against its conformance engine on a unix socket
 * and a loopback port ({@code check.sh}; the hostile group, which attacks interpreters'
 * sandboxes, does not apply to compiled Go). The call deadline is 1 s here: the deadline is
 * wall-clock time, and on a busy 2-core host a trivial call missed 50 ms (here) and 250 ms (on
 * CI, misuse check 53). The suite's two loops spin until it (Go cannot stop a looping handler).
 */
class GoEngineTest {

  @Test
  void theGoSdksTestsAndTheConformanceSuitePass() throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", Path.of("engines/go/check.sh").toAbsolutePath().toString())
        .redirectErrorStream(true);
    pb.environment().put("GO_ENGINE_ARGS", "--deadline-ms 1000");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(600, TimeUnit.SECONDS)).isTrue();
    String report = TapOutput.failuresFirst(out);
    assertThat(p.exitValue()).as(report).isZero();
    assertThat(out).as(report).contains("ok  \tkeystone.dev/engine/keystone").contains("check: all passed")
        .doesNotContain("not ok");
  }
}
