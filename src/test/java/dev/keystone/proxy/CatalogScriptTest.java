package dev.keystone.proxy;

import dev.keystone.catalog.Catalog;
import dev.keystone.catalog.CatalogSource;
import dev.keystone.catalog.Installed;
import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.gateway.GatewayOptions;
import dev.keystone.model.ReloadResult;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Tenants running catalog scripts ({@code script: {catalog: NAME@VERSION, params}}) in a real
 * gateway: the parameters reach the script as req.params / res.params; wrong parameters, an
 * entry not installed, another version pinned or an installed file changed reject the config
 * (and a reload keeps the running one); the admin API says which entry runs, never its params.
 */
class CatalogScriptTest {

  @TempDir
  Path dir;
  Vertx vertx;
  TestBackend backend;
  TestGateway gw;

  @BeforeEach
  void install() throws Exception {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "app");
    backend.handler(req -> req.response().putHeader("Server", "nginx/1.2").putHeader("X-Powered-By", "PHP")
        .end("app saw " + req.path() + " real-ip=" + req.getHeader("X-Real-IP")));
    Catalog builtin = new Catalog(CatalogSource.open("builtin"), null);
    Installed installed = new Installed(dir);
    for (String name : new String[] {"rate-limit-header", "header-rewrite", "ip-allowlist"}) {
      installed.install(builtin.fetch(name, "1.0.0"), "builtin", java.util.List.of("lua"), "");
    }
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  private Path config(String tenants) throws Exception {
    return Files.writeString(dir.resolve("keystone.yaml"), TestGateway.withTestListeners("tenants:\n" + tenants.replace("BACKEND", backend.url())));
  }

  private static final String TENANTS = """
        - name: api
          path_prefix: /api/
          script: { catalog: rate-limit-header@1.0.0, params: { limit: 2, window_seconds: 30 } }
          services: [{ name: app, url: "BACKEND" }]
        - name: site
          path_prefix: /site/
          script:
            catalog: header-rewrite
            params:
              request_set: { X-Real-IP: "{client_ip}" }
              response_set: { X-Frame-Options: DENY }
              response_remove: [Server, X-Powered-By]
          services: [{ name: app, url: "BACKEND" }]
        - name: office
          path_prefix: /office/
          script: { catalog: ip-allowlist@1.0.0, params: { allow: [192.0.2.0/24], status: 404 } }
          services: [{ name: app, url: "BACKEND" }]
      """;

  private void start(Path file) {
    gw = TestGateway.startFile(file, Map.of(), new GatewayOptions(2, "test", Clock.systemUTC()));
  }

  @Test
  void catalogScriptsRunWithTheirTenantsParams() throws Exception {
    start(config(TENANTS));
    HttpResponse<String> r1 = gw.get("/api/a", "X-API-Key", "k1");
    assertThat(r1.statusCode()).isEqualTo(200);
    assertThat(gw.get("/api/a", "X-API-Key", "k1").statusCode()).isEqualTo(200);
    HttpResponse<String> limited = gw.get("/api/a", "X-API-Key", "k1");
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("30");
    assertThat(limited.body()).isEqualTo("rate limit exceeded: 2 requests per 30 s\n");
    assertThat(gw.get("/api/a", "X-API-Key", "k2").statusCode()).isEqualTo(200);

    HttpResponse<String> site = gw.get("/site/page");
    assertThat(site.statusCode()).isEqualTo(200);
    assertThat(site.body()).isEqualTo("app saw /page real-ip=127.0.0.1");
    assertThat(site.headers().firstValue("X-Frame-Options")).hasValue("DENY");
    assertThat(site.headers().firstValue("Server")).isEmpty();
    assertThat(site.headers().firstValue("X-Powered-By")).isEmpty();

    HttpResponse<String> office = gw.get("/office/");
    assertThat(office.statusCode()).isEqualTo(404);
    assertThat(office.body()).startsWith("404 client address not allowed (request id ");
  }

  @Test
  void theAdminApiSaysWhichEntryRunsButNotItsParams() throws Exception {
    start(config(TENANTS.replace("limit: 2", "limit: 2, header: X-Secret-Header-Name")));
    String sha = new Installed(dir).lock().scripts().get("rate-limit-header").sha256();
    HttpResponse<String> r = gw.admin("GET", "/api/v1/tenants");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonObject api = new io.vertx.core.json.JsonArray(new JsonObject(r.body()).getJsonArray("tenants").getList()).stream()
        .map(o -> o instanceof JsonObject j ? j : new JsonObject((Map<String, Object>) o))
        .filter(t -> t.getString("name").equals("api")).findFirst().orElseThrow();
    assertThat(api.getJsonObject("script").getJsonObject("catalog"))
        .isEqualTo(new JsonObject().put("name", "rate-limit-header").put("version", "1.0.0").put("sha256", sha).put("signed", false));
    assertThat(r.body()).doesNotContain("X-Secret-Header-Name");
    HttpResponse<String> cfg = gw.admin("GET", "/api/v1/config");
    assertThat(cfg.body()).contains("rate-limit-header@1.0.0").doesNotContain("X-Secret-Header-Name");
  }

  @Test
  void paramsAreCheckedAgainstTheSchemaAtLoad() throws Exception {
    Path file = config("""
          - name: api
            script:
              catalog: rate-limit-header@1.0.0
              params: { limit: 0, missing: sometimes, colour: red }
            services: [{ name: app, url: "BACKEND" }]
        """);
    assertThatThrownBy(() -> new ConfigLoader().load(file)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("tenants[0].script.params: rate-limit-header@1.0.0: ")
        .hasMessageContaining("params.limit: 0 is less than 1")
        .hasMessageContaining("params.missing: Instance does not match any of [\"client_ip\",\"reject\"]")
        .hasMessageContaining("params.colour: not a parameter of rate-limit-header@1.0.0 (its schema allows no other keys)");
  }

  @Test
  void anEntryNotInstalledOrPinnedAtAnotherVersionIsRefused() throws Exception {
    assertThatThrownBy(() -> new ConfigLoader().load(config("""
          - name: a
            script: { catalog: geo-allowlist@1.0.0, params: { countries: [DE] } }
            services: [{ name: app, url: "BACKEND" }]
        """))).hasMessageContaining("tenants[0].script.catalog: catalog script geo-allowlist is not installed")
        .hasMessageContaining("keystone scripts add geo-allowlist@1.0.0");
    assertThatThrownBy(() -> new ConfigLoader().load(config("""
          - name: a
            script: { catalog: ip-allowlist@1.2.0, params: { allow: [10.0.0.0/8] } }
            services: [{ name: app, url: "BACKEND" }]
        """))).hasMessageContaining("catalog script ip-allowlist@1.2.0 is not installed: scripts.lock.json pins ip-allowlist@1.0.0");
    assertThatThrownBy(() -> new ConfigLoader().load(config("""
          - name: a
            lua_script: mine
            script: { catalog: ip-allowlist, params: { allow: [10.0.0.0/8] } }
            services: [{ name: app, url: "BACKEND" }]
        """))).hasMessageContaining("tenants[0].script: a tenant has lua_script (its own script) or script (a catalog script), not both");
    assertThatThrownBy(() -> new ConfigLoader().load(config("""
          - name: a
            script: { catalog: ip-allowlist, language: py, params: { allow: [10.0.0.0/8] } }
            services: [{ name: app, url: "BACKEND" }]
        """))).hasMessageContaining("tenants[0].script.language: an entry's py version runs in an engine the gateway supervises");
  }

  @Test
  void anInstalledFileChangedLaterIsRefusedAndAReloadKeepsTheRunningConfig() throws Exception {
    Path file = config(TENANTS);
    start(file);
    Path script = dir.resolve("catalog-scripts/rate-limit-header@1.0.0/script.lua");
    Files.writeString(script, Files.readString(script).replace("if n > p.limit then", "if false then"));
    ReloadResult r = gw.gateway().reloadFromFile();
    assertThat(r.applied()).isFalse();
    assertThat(String.join("\n", r.errors())).contains("tenants[0].script.catalog: rate-limit-header@1.0.0: content does not match its SHA-256");
    for (int i = 0; i < 2; i++) {
      assertThat(gw.get("/api/x", "X-API-Key", "k").statusCode()).isEqualTo(200);
    }
    assertThat(gw.get("/api/x", "X-API-Key", "k").statusCode()).isEqualTo(429); // the installed, checked script still runs
    assertThatThrownBy(() -> new ConfigLoader().load(file)).hasMessageContaining("does not match its SHA-256");
  }
}
