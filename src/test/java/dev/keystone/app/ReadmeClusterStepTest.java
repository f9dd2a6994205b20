package dev.keystone.app;

import dev.keystone.testing.Await;
import dev.keystone.testing.GatewayProcess;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestEtcd;
import io.vertx.core.Vertx;
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
 * The README tour's "two gateways, one config" step, its bin/keystone commands as printed, on a
 * test etcd (its address for 127.0.0.1:2379), ephemeral ports for the gateways, and a test backend
 * where the example points at the embedded default's :8080.
 */
class ReadmeClusterStepTest {

  static final HttpClient HTTP = HttpClient.newHttpClient();

  static List<String> commands() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    String step = readme.substring(readme.indexOf("**Two gateways, one config.**"));
    step = step.substring(step.indexOf("```bash"), step.indexOf("```", step.indexOf("```bash") + 7));
    List<String> out = new ArrayList<>();
    for (String line : step.lines().toList()) {
      if (line.startsWith("bin/keystone ")) {
        out.add(line.replaceFirst("\\s+#.*$", "").replaceFirst("\\s*&$", "").substring("bin/keystone ".length()).trim());
      }
    }
    return out;
  }

  @Test
  void twoGatewaysFollowOnePush(@TempDir Path dir) throws Exception {
    List<String> commands = commands();
    assertThat(commands).hasSize(4);
    assertThat(commands.get(0)).isEqualTo("config push examples/cluster/keystone.yaml --store etcd://127.0.0.1:2379/demo");
    assertThat(commands.get(3)).isEqualTo("config push examples/cluster/keystone-limited.yaml --store etcd://127.0.0.1:2379/demo");
    Vertx vertx = Vertx.vertx();
    List<GatewayProcess> gateways = new ArrayList<>();
    try (TestEtcd etcd = new TestEtcd(Files.createDirectory(dir.resolve("etcd")))) {
      TestBackend backend = new TestBackend(vertx, "demo-web");
      String store = "etcd://" + etcd.endpoint().substring("http://".length()) + "/demo";
      for (String example : List.of("keystone.yaml", "keystone-limited.yaml")) {
        Files.createDirectories(dir.resolve("examples/cluster"));
        Files.writeString(dir.resolve("examples/cluster").resolve(example), Files.readString(Path.of("examples/cluster", example))
            .replace("http://127.0.0.1:8080/web/", backend.url() + "/web/"));
      }
      List<String> run = new ArrayList<>();
      for (String command : commands) {
        run.add(command.replace("etcd://127.0.0.1:2379/demo", store)
            .replaceAll("--listen 127.0.0.1:\\d+", "--listen 127.0.0.1:0").replaceAll("--admin 127.0.0.1:\\d+", "--admin 127.0.0.1:0")
            .replace("/tmp/", dir + "/"));
      }
      GatewayProcess.Result first = GatewayProcess.run(dir, run.get(0).split(" "));
      assertThat(first.exitCode()).as(first.output()).isZero();
      List<Integer> ports = new ArrayList<>();
      List<Integer> admins = new ArrayList<>();
      for (String c : run.subList(1, 3)) {
        GatewayProcess g = GatewayProcess.start(dir, List.of("-Xmx256m"), c.split(" "));
        gateways.add(g);
        ports.add(g.awaitListening());
        admins.add(g.adminPort());
      }
      for (int port : ports) {
        assertThat(get(port, "/shop/hello").body()).isEqualTo("demo-web /web/hello");
      }
      GatewayProcess.Result pushed = GatewayProcess.run(dir, run.get(3).split(" "));
      assertThat(pushed.exitCode()).as(pushed.output()).isZero();
      long revision = Long.parseLong(pushed.output().replaceAll("(?s).*: revision (\\d+).*", "$1"));
      for (int admin : admins) {
        Await.until("the pushed revision is served", Duration.ofSeconds(30),
            () -> get(admin, "/readyz").body().contains("\"revision\":" + revision + ","));
      }
      // The limit's window is the clock's minute: three requests across its end would be counted
      // in two windows. Send them with ten seconds or more of the minute left.
      Await.until("ten seconds or more left in this minute", Duration.ofSeconds(15),
          () -> java.time.Instant.now().getEpochSecond() % 60 < 50);
      List<Integer> codes = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        codes.add(get(ports.get(1), "/shop/hello").statusCode());
      }
      assertThat(codes).containsExactly(200, 200, 429);
    } finally {
      gateways.forEach(GatewayProcess::close);
      vertx.close();
    }
  }

  static HttpResponse<String> get(int port, String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
