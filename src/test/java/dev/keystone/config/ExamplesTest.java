package dev.keystone.config;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The configs in examples/ and the embedded default are loaded here, so the docs never rot. */
class ExamplesTest {

  @Test
  void everyExampleLoads() throws IOException, ConfigException {
    List<Path> files;
    try (Stream<Path> s = Files.list(Path.of("examples"))) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(files).hasSizeGreaterThanOrEqualTo(3);
    for (Path f : files) {
      GatewayConfig c = new ConfigLoader(k -> null).load(f);
      assertThat(c.tenants()).as(f.toString()).isNotEmpty();
    }
  }

  @Test
  void productionExampleMeansWhatItsCommentsSay() throws ConfigException {
    GatewayConfig c = new ConfigLoader(Map.of("PARTNER_TOKEN", "t0k")::get).load(Path.of("examples/production.yaml"));
    assertThat(c.adminBasePath()).isEqualTo("/_keystone");
    assertThat(c.limits().maxBodySize()).isEqualTo(50L * 1024 * 1024);
    TenantConfig store = c.tenants().get(0);
    assertThat(store.services()).extracting(ServiceConfig::weight).containsExactly(9, 1);
    assertThat(store.services().get(1).url()).isEqualTo("http://127.0.0.1:3002");
    assertThat(c.tenants().get(1).services().get(0).url()).endsWith("token=t0k");
    assertThat(c.tenants().get(1).preserveHost()).isFalse();
  }

  @Test
  void embeddedDefaultLoadsWithDemoPorts() throws Exception {
    String yaml = new String(ExamplesTest.class.getResourceAsStream("/embedded-default.yaml").readAllBytes());
    GatewayConfig c = new ConfigLoader(Map.of("KEYSTONE_DEMO_BLUE", "1", "KEYSTONE_DEMO_GREEN", "2")::get)
        .parse(yaml, "embedded default");
    assertThat(c.tenants()).extracting(TenantConfig::name).containsExactly("demo-web", "demo-api", "demo-api-v2", "demo-canary");
    assertThat(c.tenants().get(3).script()).as("the demo script is bundled in the jar").isNotNull();
  }

  @Test
  void theClusterExamplesMeanWhatTheirCommentsSay() throws Exception {
    GatewayConfig plain = new ConfigLoader(k -> null).load(Path.of("examples/cluster/keystone.yaml"));
    assertThat(plain.tenants().get(0).services().get(0).url()).isEqualTo("http://127.0.0.1:8080/web/");
    GatewayConfig limited = new ConfigLoader(k -> null).load(Path.of("examples/cluster/keystone-limited.yaml"));
    assertThat(limited.tenants().get(0).policies().rateLimits().get(0).describe()).isEqualTo("2 per 60 s by client_ip (fixed_window, local)");
    StoreBootstrap node = StoreBootstrap.of(Files.readAllBytes(Path.of("examples/cluster/node.yaml")), Path.of("examples/cluster/node.yaml"), k -> null);
    assertThat(node.store()).isEqualTo("etcd://127.0.0.1:2379/demo");
    assertThat(node.cache()).isEqualTo(Path.of("examples/cluster/keystone-data/config-cache.json").toAbsolutePath().normalize());
    GatewayConfig policies = new ConfigLoader(k -> null).load(Path.of("examples/cluster/policies.yaml"));
    assertThat(policies.stateStore()).isEqualTo("redis://127.0.0.1:6379");
    assertThat(policies.apiKeys().table().size()).isEqualTo(1);
    TenantConfig orders = policies.tenants().get(0);
    assertThat(orders.policies().apiKey().scopes()).containsExactly("orders:read");
    assertThat(orders.policies().rateLimits()).extracting(dev.keystone.model.RateLimitRule::describe)
        .containsExactly("1000 per 60 s by api_key (fixed_window, cluster)", "20 per 1 s by client_ip (token_bucket, local)");
    TenantConfig account = policies.tenants().get(1);
    assertThat(account.policies().jwt().algorithms()).containsExactly("RS256", "ES256");
    assertThat(account.policies().jwt().forwardClaims()).containsEntry("sub", "X-User-Id");
  }
}
