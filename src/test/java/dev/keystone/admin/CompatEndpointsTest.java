package dev.keystone.admin;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The original /health and /tenants endpoints, under admin_base_path, in the original JSON shape. */
class CompatEndpointsTest {

  static Vertx vertx;
  static TestBackend backend;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "app");
    gw = TestGateway.start("""
        admin_base_path: /admin
        tenants:
          - name: site
            path_prefix: /site/
            health_interval: 15
            services: [{ name: web, url: "%1$s", health: /health }]
          - name: app
            domains: [app.example.com]
            lua_script: canary
            services:
              - { name: app, url: "%1$s/v1", health: /health, labels: { version: stable } }
        """.formatted(backend.url()), java.util.Map.of("canary", "function on_request(req) end"));
  }

  @AfterAll
  static void stop() {
    gw.close();
    vertx.close();
  }

  @Test
  void healthHasTheOriginalShape() {
    Await.until("healthy", () -> gw.get("/admin/health").body().contains("1/1 healthy\",\"app\":\"1/1"));
    var r = gw.get("/admin/health");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonObject h = new JsonObject(r.body());
    assertThat(h.getString("status")).isEqualTo("healthy");
    assertThat(h.getJsonObject("tenants").getMap()).containsEntry("site", "1/1 healthy").containsEntry("app", "1/1 healthy");
    assertThat(h.getString("uptime")).matches("[0-9hm.]+(ms|s)");
    assertThat(h.getString("version")).isEqualTo("test");
  }

  @Test
  void tenantsHaveTheOriginalFieldNames() {
    JsonArray tenants = new JsonArray(gw.get("/admin/tenants").body());
    JsonObject site = tenants.getJsonObject(0);
    assertThat(site.getString("Name")).isEqualTo("site");
    assertThat(site.getString("PathPrefix")).isEqualTo("/site/");
    assertThat(site.getValue("Domains")).isNull();
    assertThat(site.getLong("Interval")).isEqualTo(15);
    JsonObject svc = site.getJsonArray("Services").getJsonObject(0);
    assertThat(svc.getString("Name")).isEqualTo("web");
    assertThat(svc.getString("URL")).isEqualTo(backend.url());
    assertThat(svc.getString("Health")).isEqualTo("/health");
    JsonObject app = tenants.getJsonObject(1);
    assertThat(app.getJsonArray("Domains").getList()).containsExactly("app.example.com");
    assertThat(app.getString("LuaScript")).isEqualTo("canary");
    assertThat(app.getJsonArray("Services").getJsonObject(0).getJsonObject("labels").getString("version")).isEqualTo("stable");
  }

  @Test
  void onlyUnderTheBasePathAndNotOnTenantHosts() {
    assertThat(gw.get("/health").statusCode()).as("not at the root when a base path is set").isEqualTo(404);
    // app.example.com belongs to a tenant: its /admin/... paths are the application's, not ours
    assertThat(gw.get("/admin/tenants", "Host", "app.example.com").body()).isEqualTo("app /v1/admin/tenants");
  }

  @Test
  void reloadIsOnlyForPost() {
    assertThat(gw.get("/admin/reload").statusCode()).isEqualTo(404);
  }

  @Test
  void goDurationFormat() {
    assertThat(CompatEndpoints.goDuration(Duration.ofMillis(1500))).isEqualTo("1.5s");
    assertThat(CompatEndpoints.goDuration(Duration.ofMillis(150))).isEqualTo("150ms");
    assertThat(CompatEndpoints.goDuration(Duration.ofSeconds(3725))).isEqualTo("1h2m5s");
    assertThat(CompatEndpoints.goDuration(Duration.ofSeconds(61))).isEqualTo("1m1s");
  }
}
