package dev.keystone.proxy;

import dev.keystone.engine.Engine;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code script_body}: a tenant's script sees the request body (up to a cap), embedded and in a
 * remote engine alike; the body still reaches the backend whole, and a bigger one is refused.
 */
class ScriptBodyTest {

  static final String SCRIPT = """
      function on_request(req)
        if req.path == "/echo" then
          if req.body == nil then return respond(200, "nil") end
          return respond(200, #req.body .. ":" .. (string.byte(req.body, 1) or 0) .. ":" .. (string.byte(req.body, -1) or 0))
        end
        if req.body then
          local ok, doc = pcall(json.decode, req.body)
          if ok and type(doc) == "table" and doc.tier == "gold" then return route_to("gold") end
        end
        return route_to("basic")
      end
      """;

  static Vertx vertx;
  static TestBackend gold;
  static TestBackend basic;
  static Engine engine;
  static Path scripts;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    gold = echo(new TestBackend(vertx, "gold"));
    basic = echo(new TestBackend(vertx, "basic"));
    scripts = Files.createTempDirectory("keystone-body-scripts");
    Files.writeString(scripts.resolve("body.lua"), SCRIPT);
    engine = Await.result(Engine.start(scripts, SocketAddress.inetSocketAddress(0, "127.0.0.1"), 1));
  }

  /** The backend answers with its name, the Content-Length it got, and the body. */
  static TestBackend echo(TestBackend b) {
    return b.handler(req -> req.body().onSuccess(body -> req.response().end(
        b.name() + " " + req.getHeader("Content-Length") + " " + req.getHeader("Transfer-Encoding") + " " + body)));
  }

  @AfterAll
  static void stop() {
    Await.result(engine.close());
    vertx.close();
    scripts.resolve("body.lua").toFile().delete();
    scripts.toFile().delete();
  }

  static TestGateway gateway(String where) {
    String engineBlock = where.equals("remote")
        ? "lua_engine: { enabled: true, url: \"http://127.0.0.1:" + engine.port() + "\", timeout: 2s }\n" : "";
    TestGateway gw = TestGateway.start(engineBlock + """
        tenants:
          - name: shop
            path_prefix: /shop/
            lua_script: body
            script_body: 1KB
            services:
              - { name: gold, url: "%s" }
              - { name: basic, url: "%s" }
        """.formatted(gold.url(), basic.url()), Map.of("body", SCRIPT));
    // Backends start unhealthy until their first check, and route_to(name) takes no unhealthy
    // one: without this wait the first request could race the checks (seen under load in CI).
    dev.keystone.testing.Await.until("both backends checked healthy",
        () -> gw.gateway().snapshot().tenants().get(0).pool().backends().stream().allMatch(b -> b.healthy()));
    return gw;
  }

  static HttpResponse<String> post(TestGateway gw, String path, HttpRequest.BodyPublisher body, boolean expectContinue) throws Exception {
    return gw.http().send(HttpRequest.newBuilder(URI.create(gw.base() + path)).POST(body).expectContinue(expectContinue).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "remote"})
  void theScriptRoutesByTheBodyAndTheBackendGetsItWhole(String where) throws Exception {
    try (TestGateway gw = gateway(where)) {
      String doc = "{\"tier\":\"gold\",\"pad\":\"" + "x".repeat(500) + "\"}";
      HttpResponse<String> r = post(gw, "/shop/order", HttpRequest.BodyPublishers.ofString(doc), false);
      assertThat(r.body()).isEqualTo("gold " + doc.length() + " null " + doc);
      assertThat(post(gw, "/shop/order", HttpRequest.BodyPublishers.ofString("{\"tier\":\"tin\"}"), false).body())
          .isEqualTo("basic 14 null {\"tier\":\"tin\"}");
      // chunked from the client: read whole, then forwarded with a Content-Length
      HttpResponse<String> chunked = post(gw, "/shop/order",
          HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(doc.getBytes())), false);
      assertThat(chunked.body()).isEqualTo("gold " + doc.length() + " null " + doc);
      // Expect: 100-continue: the gateway answers it, since it reads the body itself
      assertThat(post(gw, "/shop/order", HttpRequest.BodyPublishers.ofString(doc), true).body()).startsWith("gold ");
      assertThat(gw.get("/shop/order").body()).as("no body: req.body is nil").startsWith("basic ");
      assertThat(gw.get("/shop/echo").body()).isEqualTo("nil");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "remote"})
  void binaryBodiesArriveByteForByte(String where) throws Exception {
    byte[] bytes = new byte[300];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (255 - i); // not UTF-8: goes to an engine as body_base64
    }
    try (TestGateway gw = gateway(where)) {
      assertThat(post(gw, "/shop/echo", HttpRequest.BodyPublishers.ofByteArray(bytes), false).body())
          .isEqualTo("300:255:" + ((255 - 299) & 0xff));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "remote"})
  void aBodyOverTheCapIsRefusedBeforeAnyBackendSeesIt(String where) throws Exception {
    try (TestGateway gw = gateway(where)) {
      int before = gold.requests() + basic.requests();
      String big = "{\"tier\":\"gold\",\"pad\":\"" + "x".repeat(2000) + "\"}";
      HttpResponse<String> declared = post(gw, "/shop/order", HttpRequest.BodyPublishers.ofString(big), false);
      assertThat(declared.statusCode()).isEqualTo(413);
      assertThat(declared.body()).contains("request id");
      HttpResponse<String> chunked = post(gw, "/shop/order",
          HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big.getBytes())), false);
      assertThat(chunked.statusCode()).isEqualTo(413);
      assertThat(gold.requests() + basic.requests()).isEqualTo(before);
      assertThat(gw.get("/shop/echo").statusCode()).as("the gateway goes on").isEqualTo(200);
    }
  }

  @org.junit.jupiter.api.Test
  void scriptBodyIsCheckedAtLoad() {
    var e = org.assertj.core.api.Assertions.catchThrowableOfType(dev.keystone.config.ConfigException.class,
        () -> new dev.keystone.config.ConfigLoader().parse("""
            tenants:
              - { name: a, path_prefix: /a/, script_body: 2MB, lua_script: x, script_engine: remote }
              - { name: b, path_prefix: /b/, script_body: 1KB, services: [{ name: s, url: "http://127.0.0.1:1" }] }
            """, "test.yaml"));
    assertThat(e.getMessage()).contains("test.yaml:2: tenants[0].script_body: must be between 0 and 1MiB")
        .contains("test.yaml:3: tenants[1].script_body: only means something with a lua_script");
  }
}
