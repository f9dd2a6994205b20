package dev.keystone.proxy;

import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.testing.LogCapture;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * script_mode: shadow: the script runs on every request and its decision is written to the access
 * log and counted, not applied: no answer, no refusal, no edits, no response phase; a failing
 * script lets the request go on whatever on_script_error says.
 */
class ScriptShadowTest {

  Vertx vertx;
  TestBackend backend;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "app");
    backend.handler(req -> req.response().end("app saw " + req.uri() + " edited=" + req.getHeader("X-Edited")));
    gw = TestGateway.start("""
        tenants:
          - name: shop
            path_prefix: /shop/
            lua_script: deny
            script_mode: shadow
            services: [{ name: app, url: "%s" }]
          - name: bodies
            path_prefix: /bodies/
            lua_script: deny
            script_mode: shadow
            script_body: 1KiB
            services: [{ name: app, url: "%s" }]
          - name: broken
            path_prefix: /broken/
            lua_script: broken
            script_mode: shadow
            on_script_error: fail_closed
            services: [{ name: app, url: "%s" }]
        """.formatted(backend.url(), backend.url(), backend.url()), Map.of(
        "deny", """
            function on_request(req)
              req.set_header("X-Edited", "yes")
              req.set_path("/elsewhere")
              return reject(403, "no entry")
            end
            function on_response(res)
              res.set_status(500)
            end
            """,
        "broken", """
            function on_request(req)
              error("boom")
            end
            """));
  }

  @AfterEach
  void stop() {
    gw.close();
    vertx.close();
  }

  @Test
  void theDecisionIsLoggedAndCountedNotApplied() {
    try (LogCapture log = LogCapture.accessLog()) {
      HttpResponse<String> r = gw.get("/shop/x");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("app saw /x edited=null");
      assertThat(log.awaitOne("path=/shop/x")).contains(" status=200 ").contains(" shadow=reject:403+edits");
    }
    // (counted as the request completes, which may be just after its answer reached the client)
    dev.keystone.testing.Await.until("the decision counted", () -> gw.admin("GET", "/metrics").body()
        .contains("keystone_script_shadow_decisions_total{tenant=\"shop\",decision=\"reject\"} 1"));
  }

  @Test
  void aFailingScriptInShadowModeLetsTheRequestGoOn() {
    try (LogCapture log = LogCapture.accessLog()) {
      HttpResponse<String> r = gw.get("/broken/y");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(log.awaitOne("path=/broken/y")).contains(" shadow=error");
    }
    dev.keystone.testing.Await.until("the failure counted", () -> gw.admin("GET", "/metrics").body()
        .contains("keystone_script_shadow_decisions_total{tenant=\"broken\",decision=\"error\"} 1"));
  }

  @Test
  void aBodyAboveScriptBodyIsServedAsIfThereWereNoScript() {
    // Attack s16b F4: a 2 KiB body for a shadow script with script_body: 1KiB was answered 413.
    backend.handler(req -> req.body().onSuccess(b -> req.response().end("app got " + b.length())));
    try (LogCapture log = LogCapture.accessLog()) {
      HttpResponse<String> big = gw.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/bodies/up"))
          .POST(java.net.http.HttpRequest.BodyPublishers.ofString("b".repeat(2048))));
      assertThat(big.statusCode()).isEqualTo(200);
      assertThat(big.body()).isEqualTo("app got 2048");
      assertThat(log.awaitOne("path=/bodies/up")).contains(" shadow=skipped:body");
      HttpResponse<String> small = gw.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/bodies/small"))
          .POST(java.net.http.HttpRequest.BodyPublishers.ofString("s".repeat(100))));
      assertThat(small.body()).isEqualTo("app got 100");
      assertThat(log.awaitOne("path=/bodies/small")).contains(" shadow=reject:403+edits");
    }
  }

  @Test
  void theModeIsCheckedWhenTheConfigLoads() {
    assertThatThrownBy(() -> new ConfigLoader().parse("""
        tenants:
          - name: a
            path_prefix: /a/
            script_mode: shadow
            services: [{ name: s, url: "http://127.0.0.1:1" }]
          - name: b
            path_prefix: /b/
            lua_script: x.lua
            script_mode: sometimes
            services: [{ name: s, url: "http://127.0.0.1:1" }]
        """, "test.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("tenants[0].script_mode: only means something with a lua_script")
        .hasMessageContaining("tenants[1].script_mode: must be enforce (the script decides) or shadow");
  }
}
