package dev.keystone.gateway;

import dev.keystone.testing.GatewayProcess;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TrafficLoad;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A 10,000-tenant config reloaded under traffic, in a gateway process started with the JVM
 * settings we ship ({@code bin/jvm.options}): while a reload runs, the old snapshot, the new one
 * and the parse tree are all in the heap. With the first shipped settings (a fixed 64 MiB heap)
 * this ran out of memory and the gateway stopped answering.
 */
class LargeConfigReloadTest {

  static final int TENANTS = 10_000;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  Vertx vertx = Vertx.vertx();
  TestBackend backend = new TestBackend(vertx, "a");

  @AfterEach
  void stop() {
    vertx.close();
  }

  static String config(String url, int generation) {
    // No admin listener: the original POST /reload then answers loopback clients without a token.
    StringBuilder sb = new StringBuilder("listen: 127.0.0.1:0\nadmin: { enabled: false }\ntenants:\n");
    for (int i = 0; i < TENANTS; i++) {
      sb.append("  - name: t").append(i).append('\n')
          .append("    path_prefix: /t").append(i).append("/\n");
      if (i % 2 == 1) { // odd tenants route by host and path, even ones (which the test calls) by path
        sb.append("    domains: [\"t").append(i).append(".example.com\"]\n");
      }
      sb.append("    health_interval: 1h\n")
          .append("    services: [{ name: s, url: \"").append(url).append("\", health: /health }]\n");
    }
    return sb.append("# generation ").append(generation).append('\n').toString();
  }

  @Test
  void reloadsOfTenThousandTenantsUnderTrafficFailNoRequest(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("big.yaml");
    Files.writeString(file, config(backend.url(), 0));
    Path options = Path.of("bin/jvm.options").toAbsolutePath();
    try (GatewayProcess gw = GatewayProcess.start(dir, List.of("@" + options), "--config", file.toString())) {
      int port = gw.awaitListening();
      TrafficLoad load = TrafficLoad.start(4, (client, i) -> {
        int tenant = 2 * ((client * 7919 + i * 104729) % (TENANTS / 2));
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/t" + tenant + "/x")).build(),
            HttpResponse.BodyHandlers.ofString());
      });
      for (int generation = 1; generation <= 4; generation++) {
        Files.writeString(file, config(backend.url(), generation));
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/reload"))
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      }
      assertThat(load.stop()).isEmpty();
      assertThat(load.ok()).isGreaterThan(100);
      // Each POST applied its file (the file watcher may have applied some of them first).
      // (the log is written off the reloading thread: the last line may follow the last answer)
      dev.keystone.testing.Await.until("four applied lines", java.time.Duration.ofSeconds(10),
          () -> gw.output().split("applied: 10000 tenant\\(s\\)", -1).length - 1 >= 4);
      assertThat(gw.output()).doesNotContain("OutOfMemoryError");
    }
  }
}
