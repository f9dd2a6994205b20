package dev.keystone.catalog;

import dev.keystone.testing.Await;
import dev.keystone.testing.NodeEngine;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The repository catalog's JavaScript and Python versions, each entry's tests run against the
 * real engine of its language (Node.js with QuickJS isolates; CPython workers under seccomp),
 * over the engine protocol with the test's params: the same tests, the same expected answers as
 * the Lua versions (CatalogEntriesTest). An entry offered in a language must pass there.
 */
class CatalogEnginesTest {

  static Vertx vertx;
  static HttpClient http;

  @BeforeAll
  static void client() {
    vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    http = vertx.createHttpClient();
  }

  @AfterAll
  static void close() {
    vertx.close();
  }

  @TestFactory
  List<DynamicTest> javaScriptVersionsPassTheirTestsOnTheNodeEngine(@TempDir Path dir) throws Exception {
    NodeEngine.ensureInstalled();
    return run("js", dir, List.of("node", Path.of("engines/node/engine.js").toAbsolutePath().toString()));
  }

  @TestFactory
  List<DynamicTest> pythonVersionsPassTheirTestsOnThePythonEngine(@TempDir Path dir) throws Exception {
    String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    return run("py", dir, List.of(python, Path.of("engines/python/engine.py").toAbsolutePath().toString()));
  }

  /** Starts the engine on the entries' {@code lang} scripts (NAME.ext) and makes one test per entry. */
  private List<DynamicTest> run(String lang, Path dir, List<String> engine) throws Exception {
    Catalog c = new Catalog(CatalogSource.open(CatalogFixture.REPOSITORY.toString()), null);
    Path scripts = Files.createDirectories(dir.resolve("scripts"));
    List<Entry> entries = new ArrayList<>();
    for (CatalogIndex.Line l : c.index().entries()) {
      Entry e = c.fetch(l.name(), l.version());
      if (e.script(lang) != null) {
        Files.writeString(scripts.resolve(e.manifest().name() + "." + lang), e.script(lang));
        entries.add(e);
      }
    }
    List<DynamicTest> tests = new ArrayList<>();
    if (entries.isEmpty()) {
      return tests;
    }
    Path socket = dir.resolve(lang + ".sock");
    Path log = dir.resolve(lang + ".log");
    List<String> cmd = new ArrayList<>(engine);
    cmd.addAll(List.of("--scripts", scripts.toString(), "--listen", "unix:" + socket));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      Await.until("the " + lang + " engine listens", Duration.ofSeconds(30), () -> Files.exists(socket) || !p.isAlive());
      assertThat(p.isAlive()).as(lang + " engine running: " + Files.readString(log)).isTrue();
    } catch (RuntimeException | AssertionError x) {
      p.destroyForcibly();
      throw x;
    }
    for (Entry e : entries) {
      tests.add(DynamicTest.dynamicTest(e.id() + " (" + lang + ")", () -> {
        List<EntryTests.Result> results = EntryTests.run(e, e.manifest().name(), (endpoint, body) -> call(socket, endpoint, body),
            "catalog-" + lang);
        assertThat(results).isNotEmpty();
        assertThat(results.stream().filter(r -> !r.passed()).map(EntryTests.Result::toString).toList())
            .as("engine log: " + Files.readString(log)).isEmpty();
      }));
    }
    tests.add(DynamicTest.dynamicTest("the " + lang + " engine stops", () -> {
      p.destroy();
      assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    }));
    return tests;
  }

  private static JsonObject call(Path socket, String endpoint, JsonObject body) {
    RequestOptions o = new RequestOptions().setServer(SocketAddress.domainSocketAddress(socket.toString()))
        .setMethod(HttpMethod.POST).setHost("localhost").setURI("/v1/" + endpoint).putHeader("Content-Type", "application/json");
    Buffer answer = Await.result(http.request(o).compose(r -> r.send(body.toBuffer()).compose(res -> {
      if (res.statusCode() != 200) {
        return res.body().map(b -> {
          throw new AssertionError("engine answered " + res.statusCode() + ": " + b);
        });
      }
      return res.body();
    })));
    return answer.toJsonObject();
  }
}
