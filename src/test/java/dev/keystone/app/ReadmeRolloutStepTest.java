package dev.keystone.app;

import dev.keystone.testing.Await;
import dev.keystone.testing.GatewayProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README tour's rollout step, its commands as printed (bin/keystone being this build's Main,
 * pointed at the test's admin port; the step interval 2 s instead of 10 s to keep the test short),
 * against the embedded default: the canary green of demo-web is promoted, and status says so in
 * the words the README shows.
 */
class ReadmeRolloutStepTest {

  static final HttpClient HTTP = HttpClient.newHttpClient();

  /** The README's {@code bin/keystone rollout ...} lines of the rollout step, without their comments. */
  static List<String[]> commands() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    String step = readme.substring(readme.indexOf("**Roll out a canary.**"));
    step = step.substring(step.indexOf("```bash"), step.indexOf("```", step.indexOf("```bash") + 7));
    List<String[]> out = new ArrayList<>();
    for (String line : step.lines().toList()) {
      if (line.startsWith("bin/keystone rollout ")) {
        String cmd = line.replaceFirst("\\s+#.*$", "").substring("bin/keystone ".length());
        out.add(cmd.trim().split("\\s+"));
      }
    }
    return out;
  }

  @Test
  void theRolloutStepPromotesGreen(@TempDir Path dir) throws Exception {
    List<String[]> commands = commands();
    assertThat(commands).hasSize(2);
    assertThat(String.join(" ", commands.get(0))).isEqualTo("rollout start demo-web --canary green --steps 50,100 --interval 10s --max-5xx 1%");
    assertThat(String.join(" ", commands.get(1))).isEqualTo("rollout status demo-web");
    try (GatewayProcess gw = GatewayProcess.start(dir, List.of(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
        "--tls-listen", "127.0.0.1:0")) {
      int port = gw.awaitListening();
      String admin = "http://127.0.0.1:" + gw.adminPort();
      Await.until("demo-web's backends are healthy", Duration.ofSeconds(30),
          () -> get(port, "/health").contains("\"demo-web\":\"2/2 healthy\""));
      List<String> start = new ArrayList<>(List.of(commands.get(0)));
      start.set(start.indexOf("10s"), "2s");
      start.addAll(List.of("--admin", admin));
      GatewayProcess.Result started = GatewayProcess.run(dir, start.toArray(String[]::new));
      assertThat(started.exitCode()).as(started.output()).isZero();
      List<String> status = new ArrayList<>(List.of(commands.get(1)));
      status.addAll(List.of("--admin", admin));
      // the README's loop: requests to demo-web while the steps are judged
      Await.until("the rollout is promoted", Duration.ofSeconds(60), () -> {
        for (int i = 0; i < 20; i++) {
          get(port, "/web/hello");
        }
        return GatewayProcess.run(dir, status.toArray(String[]::new)).output().contains("promoted");
      });
      GatewayProcess.Result done = GatewayProcess.run(dir, status.toArray(String[]::new));
      assertThat(done.exitCode()).isZero();
      assertThat(done.output()).startsWith("demo-web: canary green promoted, step 2 of 2 at 100%");
    }
  }

  static String get(int port, String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }
}
