package dev.keystone.engine;

import dev.keystone.testing.NodeEngine;
import dev.keystone.testing.TapOutput;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Node.js engine's own unit tests ({@code node --test engines/node/test/}: budgets, the
 * scheduler, isolates), run as part of the README's {@code mvn -B test} so that CI runs them.
 */
class NodeEngineUnitTest {

  @Test
  void theNodeEnginesUnitTestsPass() throws Exception {
    NodeEngine.ensureInstalled();
    Process p = new ProcessBuilder("node", "--test", NodeEngine.DIR.resolve("test").toString())
        .directory(NodeEngine.DIR.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
    String report = TapOutput.failuresFirst(out);
    assertThat(p.exitValue()).as(report).isZero();
    assertThat(out).as(report).contains("# fail 0").doesNotContain("not ok");
    long passed = out.lines().filter(l -> l.startsWith("ok ")).count();
    assertThat(passed).as("every test file ran: " + out).isGreaterThanOrEqualTo(13);
  }
}
