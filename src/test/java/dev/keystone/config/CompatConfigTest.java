package dev.keystone.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Every config file of the original Go gateway loads unchanged and means what it meant. */
class CompatConfigTest {

  static final Path DIR = Path.of("src/test/resources/compat");

  static GatewayConfig load(String name) throws ConfigException {
    return new ConfigLoader(k -> null).load(DIR.resolve(name));
  }

  @ParameterizedTest
  @ValueSource(strings = {"v1.0-path-routing.yaml", "v1.2-host-and-path-routing.yaml", "v1.2-hybrid-routing.yaml",
      "v1.3-lua-engine.yaml", "v1.3-lua-scripts-and-labels.yaml"})
  void everyOriginalFileLoadsAndValidates(String file) throws Exception {
    GatewayConfig c = load(file);
    assertThat(c.tenants()).isNotEmpty();
    assertThat(c.listen()).isEqualTo(new ListenAddress("0.0.0.0", 8080)); // the original's default :8080
  }

  @Test
  void pathRoutingV10() throws Exception {
    GatewayConfig c = load("v1.0-path-routing.yaml");
    TenantConfig acme = c.tenants().get(0);
    assertThat(acme.name()).isEqualTo("acme-agency");
    assertThat(acme.pathPrefix()).isEqualTo("/acme/");
    assertThat(acme.domains()).isEmpty();
    assertThat(acme.healthInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(acme.stripPrefix()).isTrue();
    assertThat(acme.preserveHost()).isTrue();
    assertThat(acme.services()).extracting(ServiceConfig::name).containsExactly("webapp", "webapp2");
    assertThat(acme.services().get(0).url()).isEqualTo("http://test-backend-1:80");
    assertThat(acme.services().get(0).health()).isEqualTo("/health");
    assertThat(acme.services().get(0).weight()).isEqualTo(1);
    TenantConfig beta = c.tenants().get(1);
    assertThat(beta.healthInterval()).as("default interval").isEqualTo(Duration.ofSeconds(10));
    assertThat(beta.rawHealthInterval()).isZero();
    assertThat(beta.services().get(0).health()).isEqualTo("/status");
    assertThat(c.adminBasePath()).isEmpty();
  }

  @Test
  void hostAndPathRoutingV12() throws Exception {
    GatewayConfig c = load("v1.2-host-and-path-routing.yaml");
    assertThat(c.tenants()).hasSize(7);
    TenantConfig demo = c.tenants().get(0);
    assertThat(demo.domains()).containsExactly("demo.keystone-gateway.dev");
    assertThat(demo.hasPathPrefix()).isFalse();
    assertThat(demo.healthInterval()).isEqualTo(Duration.ofSeconds(15));
    TenantConfig grafana = c.tenants().get(4);
    assertThat(grafana.services().get(0).health()).isEqualTo("/api/health");
    TenantConfig v1 = c.tenants().get(5);
    assertThat(v1.pathPrefix()).isEqualTo("/api/v1/");
    assertThat(v1.services().get(0).url()).isEqualTo("http://localhost:3002/v1");
  }

  @Test
  void hybridRoutingV12() throws Exception {
    GatewayConfig c = load("v1.2-hybrid-routing.yaml");
    TenantConfig mobile = c.tenants().get(2);
    assertThat(mobile.domains()).containsExactly("mobile.example.com");
    assertThat(mobile.pathPrefix()).isEqualTo("/mobile/");
    assertThat(c.tenants().get(1).domains()).containsExactly("app.example.com", "www.app.example.com");
  }

  @Test
  void luaEngineV13() throws Exception {
    GatewayConfig c = load("v1.3-lua-engine.yaml");
    assertThat(c.adminBasePath()).isEqualTo("/admin");
    assertThat(c.luaEngine()).isEqualTo(new LuaEngineConfig(true, "http://localhost:8081", Duration.ofSeconds(5)));
    assertThat(c.tenants().get(1).luaScript()).isEqualTo("canary");
    assertThat(c.tenants().get(2).luaScript()).isEqualTo("rate-limiting");
    assertThat(c.tenants().get(0).luaScript()).isNull();
  }

  @Test
  void labelsV13() throws Exception {
    GatewayConfig c = load("v1.3-lua-scripts-and-labels.yaml");
    TenantConfig canary = c.tenants().get(1);
    assertThat(canary.services().get(0).labels()).isEqualTo(Map.of("version", "stable"));
    assertThat(canary.services().get(1).labels()).isEqualTo(Map.of("version", "canary"));
    assertThat(c.tenants().get(2).services().get(1).labels()).isEqualTo(Map.of("environment", "green"));
    assertThat(c.luaEngine().url()).isEqualTo("http://lua-stone:8081");
  }
}
