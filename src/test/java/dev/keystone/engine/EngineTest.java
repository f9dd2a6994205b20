package dev.keystone.engine;

import dev.keystone.script.Decision;
import dev.keystone.script.KeyValueStore;
import dev.keystone.script.LuaScript;
import dev.keystone.script.RequestScript;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.script.ScriptRequest;
import dev.keystone.testing.Await;
import dev.keystone.testing.GatewayProcess;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The script engine as a server: protocol v1, the original /route/{tenant}, health, reload, limits. */
class EngineTest {

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static final Path EXAMPLES = Path.of("examples/scripts");

  static HttpResponse<String> post(int port, String path, JsonObject body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .POST(HttpRequest.BodyPublishers.ofString(body == null ? "" : body.encode())).build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonArray backends() {
    return new JsonArray()
        .add(new JsonObject().put("name", "stable").put("url", "http://10.0.0.5").put("healthy", true)
            .put("labels", new JsonObject().put("version", "stable").put("color", "blue").put("variant", "a")))
        .add(new JsonObject().put("name", "canary-42").put("url", "http://10.0.0.9").put("healthy", true)
            .put("labels", new JsonObject().put("version", "canary").put("color", "green").put("variant", "b")));
  }

  static JsonObject decide(String script, String path, JsonArray headers) {
    return new JsonObject().put("version", 1).put("tenant", "t").put("script", script)
        .put("request", new JsonObject().put("method", "GET").put("path", path).put("raw_path", "/t" + path)
            .put("host", "example.com").put("client_ip", "10.1.2.3").put("request_id", "r-1").put("headers", headers))
        .put("backends", backends());
  }

  /** What the embedded engine decides for the same input, in the protocol's JSON. */
  static JsonObject embedded(String script, JsonObject body) throws Exception {
    Path file = EXAMPLES.resolve(script + ".lua");
    ScriptEnvironment env = ScriptEnvironment.system(Clock.systemUTC());
    RequestScript rs = new RequestScript(LuaScript.compile(script, file.toString(), Files.readString(file)), env);
    ScriptRequest req = EngineProtocol.request(body, new KeyValueStore(KeyValueStore.Limits.DEFAULT, Clock.systemUTC()));
    Decision d = rs.decide(req);
    return EngineProtocol.answer(d);
  }

  @Test
  void decisionsEqualTheEmbeddedEnginesOnTheExampleScripts() throws Exception {
    Engine engine = Await.result(Engine.start(EXAMPLES, SocketAddress.inetSocketAddress(0, "127.0.0.1"), 2));
    try {
      List<JsonArray> headerSets = List.of(new JsonArray(),
          new JsonArray().add(new JsonArray().add("X-Deploy-ID").add("42")),
          new JsonArray().add(new JsonArray().add("Cookie").add("ab_user=u7")),
          new JsonArray().add(new JsonArray().add("X-API-Key").add("k-7f3a9c")),
          new JsonArray().add(new JsonArray().add("X-Maintenance-Bypass").add("let-me-in")));
      int compared = 0;
      for (String script : List.of("canary-header", "sticky-ab", "maintenance", "api-key", "blue-green")) {
        for (JsonArray headers : headerSets) {
          JsonObject body = decide(script, "/orders", headers);
          HttpResponse<String> r = post(engine.port(), "/v1/decide", body);
          assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
          assertThat(new JsonObject(r.body())).as(script + " " + headers).isEqualTo(embedded(script, body));
          compared++;
        }
      }
      assertThat(compared).isEqualTo(25);
      JsonObject canary = new JsonObject(post(engine.port(), "/v1/decide",
          decide("canary-header", "/x", new JsonArray().add(new JsonArray().add("X-Deploy-ID").add("42")))).body());
      assertThat(canary.getString("decision")).isEqualTo("route");
      assertThat(canary.getJsonArray("backends")).containsExactly("canary-42");
      JsonObject key = new JsonObject(post(engine.port(), "/v1/decide",
          decide("api-key", "/x", new JsonArray().add(new JsonArray().add("X-API-Key").add("k-7f3a9c")))).body());
      assertThat(key.getJsonObject("edits").getJsonObject("headers").getMap())
          .containsEntry("X-Client", "acme").containsEntry("X-API-Key", null);
    } finally {
      Await.result(engine.close());
    }
  }

  /** {@code --parent PID} (set by a supervising gateway): the engine goes when that process does. */
  @Test
  void anEngineWithAParentStopsWhenTheParentIsGone(@TempDir Path dir) throws Exception {
    Process parent = new ProcessBuilder("sleep", "600").start();
    try (GatewayProcess engine = GatewayProcess.start(dir, List.of(), "engine", "--scripts", EXAMPLES.toAbsolutePath().toString(),
        "--listen", "127.0.0.1:0", "--parent", Long.toString(parent.pid()))) {
      engine.awaitListening();
      parent.destroyForcibly().waitFor();
      assertThat(engine.waitForExit(java.time.Duration.ofSeconds(20))).isZero();
      assertThat(engine.output()).contains("the gateway (pid " + parent.pid() + ") is gone: stopping");
    } finally {
      parent.destroyForcibly();
    }
  }

  /** Before it reports healthy, the engine calls each script once through its own HTTP path. */
  @Test
  void eachScriptRunsOnceBeforeTheEngineIsReady(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("a.lua"), "function on_request(req) kv.incr('a') end");
    Files.writeString(dir.resolve("b.lua"), "function on_request(req) kv.incr('b') end");
    Engine engine = Await.result(Engine.start(dir, SocketAddress.inetSocketAddress(0, "127.0.0.1"), 1));
    try {
      assertThat(engine.warm()).isTrue();
      KeyValueStore scratch = engine.environment().store("(warm-up)");
      assertThat(scratch.get("a")).isEqualTo(1.0);
      assertThat(scratch.get("b")).isEqualTo(1.0);
      assertThat(engine.environment().store("a").size()).as("no real tenant's store is touched").isZero();
    } finally {
      Await.result(engine.close());
    }
  }

  @Test
  void theOriginalRouteEndpointWorks() throws Exception {
    Engine engine = Await.result(Engine.start(EXAMPLES, SocketAddress.inetSocketAddress(0, "127.0.0.1"), 1));
    try {
      JsonObject original = new JsonObject().put("method", "GET").put("path", "/x").put("host", "example.com")
          .put("headers", new JsonObject().put("X-Deploy-ID", "42")).put("body", "")
          .put("backends", new JsonArray()
              .add(new JsonObject().put("name", "stable").put("url", "http://10.0.0.5").put("health", true)
                  .put("labels", new JsonObject().put("version", "stable")))
              .add(new JsonObject().put("name", "canary-42").put("url", "http://10.0.0.9").put("health", true)));
      HttpResponse<String> r = post(engine.port(), "/route/shop?script=canary-header", original);
      assertThat(new JsonObject(r.body()).getString("selected_backend")).isEqualTo("canary-42");
      HttpResponse<String> denied = post(engine.port(), "/route/api-key", original.copy().put("headers", new JsonObject()));
      assertThat(new JsonObject(denied.body()).getBoolean("reject")).isTrue();
      assertThat(new JsonObject(denied.body()).getString("reject_reason")).isEqualTo("missing or unknown API key");
      assertThat(post(engine.port(), "/route/no-such-script", original).statusCode()).isEqualTo(404);
      HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + engine.port() + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(new JsonObject(health.body()).getString("status")).isEqualTo("healthy");
      assertThat(new JsonObject(health.body()).getInteger("scripts")).isEqualTo(6);
    } finally {
      Await.result(engine.close());
    }
  }

  @Test
  void badInputGets400AndLimitsAreReportedAsErrors(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("loop.lua"), "function on_request(req)\n  while true do end\nend\n");
    Engine engine = Await.result(Engine.start(dir, SocketAddress.inetSocketAddress(0, "127.0.0.1"), 1));
    try {
      assertThat(post(engine.port(), "/v1/decide", new JsonObject().put("script", "loop")).statusCode()).isEqualTo(400);
      HttpResponse<String> notJson = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + engine.port() + "/v1/decide"))
          .POST(HttpRequest.BodyPublishers.ofString("{nope")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(notJson.statusCode()).isEqualTo(400);
      JsonObject r = new JsonObject(post(engine.port(), "/v1/decide", decide("loop", "/x", new JsonArray())).body());
      assertThat(r.getString("decision")).isEqualTo("error");
      assertThat(r.getBoolean("limit")).isTrue();
      assertThat(r.getString("error")).contains("loop.lua:2: instruction budget");
    } finally {
      Await.result(engine.close());
    }
  }

  @Test
  void aReloadWithASyntaxErrorKeepsTheRunningScripts(@TempDir Path dir) throws Exception {
    try (Stream<Path> s = Files.list(EXAMPLES)) {
      for (Path f : s.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    Engine engine = Await.result(Engine.start(dir, SocketAddress.inetSocketAddress(0, "127.0.0.1"), 1));
    try {
      Files.writeString(dir.resolve("broken.lua"), "function on_request(req)\n  return (\nend\n");
      HttpResponse<String> r = post(engine.port(), "/reload", null);
      assertThat(r.statusCode()).isEqualTo(422);
      assertThat(new JsonObject(r.body()).getJsonArray("errors").getString(0)).contains("broken.lua:3:");
      assertThat(new JsonObject(post(engine.port(), "/v1/decide", decide("maintenance", "/x", new JsonArray())).body())
          .getString("decision")).isEqualTo("respond");
      Files.delete(dir.resolve("broken.lua"));
      assertThat(post(engine.port(), "/reload", null).statusCode()).isEqualTo(200);
    } finally {
      Await.result(engine.close());
    }
  }

  @Test
  void theEngineRunsAsItsOwnProcess(@TempDir Path dir) throws Exception {
    try (GatewayProcess p = GatewayProcess.start(dir, List.of(), "engine", "--scripts", EXAMPLES.toAbsolutePath().toString(),
        "--listen", "127.0.0.1:0")) {
      int port = p.awaitListening();
      HttpResponse<String> r = post(port, "/v1/decide", decide("maintenance", "/x", new JsonArray()));
      assertThat(new JsonObject(r.body()).getInteger("status")).isEqualTo(503);
      p.signal("TERM");
      assertThat(p.waitForExit(java.time.Duration.ofSeconds(20))).isZero();
    }
  }
}
