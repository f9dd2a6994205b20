package dev.keystone.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keystone.config.ConfigLoader;
import dev.keystone.config.GatewayConfig;
import dev.keystone.script.LuaScript;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deployment files in deploy/ (no Docker engine runs here): every container is locked down
 * as docs/deployment.md says, and the configs and scripts they ship load.
 */
class DeploymentFilesTest {

  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static List<JsonNode> documents(Path file) throws Exception {
    List<JsonNode> docs = new ArrayList<>();
    try (var it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
      while (it.hasNext()) {
        docs.add((JsonNode) it.next());
      }
    }
    return docs;
  }

  @Test
  void composeServicesAreHardened() throws Exception {
    JsonNode root = documents(Path.of("deploy/docker-compose.yml")).get(0);
    JsonNode services = root.get("services");
    List<String> names = new ArrayList<>();
    services.fieldNames().forEachRemaining(names::add);
    assertThat(names).containsExactlyInAnyOrder("gateway", "engine", "blue", "green");
    for (String name : names) {
      ObjectNode effective = YAML.createObjectNode();
      JsonNode s = services.get(name);
      if (s.has("<<")) {
        // Jackson's tree keeps "<<: *hardened" as the alias name: resolve it to x-hardened
        JsonNode merged = s.get("<<").isTextual() ? root.get("x-" + s.get("<<").asText()) : s.get("<<");
        effective.setAll((ObjectNode) merged);
      }
      effective.setAll((ObjectNode) s);
      assertThat(effective.path("read_only").asBoolean()).as(name).isTrue();
      assertThat(effective.path("cap_drop").toString()).as(name).contains("ALL");
      assertThat(effective.path("security_opt").toString()).as(name).contains("no-new-privileges:true");
      assertThat(effective.has("mem_limit")).as(name).isTrue();
      assertThat(effective.path("pids_limit").asInt()).as(name).isPositive();
    }
    assertThat(services.get("engine").has("ports")).as("the engine is not published").isFalse();
    GatewayConfig c = new ConfigLoader(k -> null).load(Path.of("deploy/compose-config.yaml"));
    assertThat(c.luaEngine().url()).isEqualTo("http://engine:8081");
  }

  @Test
  void kubernetesPodIsHardenedAndItsConfigMapsLoad() throws Exception {
    List<JsonNode> docs = documents(Path.of("deploy/kubernetes/keystone.yaml"));
    JsonNode deployment = docs.stream().filter(d -> d.path("kind").asText().equals("Deployment")).findFirst().orElseThrow();
    JsonNode pod = deployment.at("/spec/template/spec");
    assertThat(pod.path("terminationGracePeriodSeconds").asInt()).as("preStop + timeouts.shutdown fit in the grace period")
        .isGreaterThanOrEqualTo(5 + 30);
    assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).isTrue();
    assertThat(pod.path("automountServiceAccountToken").asBoolean(true)).isFalse();
    JsonNode containers = pod.get("containers");
    assertThat(containers).hasSize(2);
    for (JsonNode c : containers) {
      String name = c.path("name").asText();
      assertThat(c.at("/securityContext/readOnlyRootFilesystem").asBoolean()).as(name).isTrue();
      assertThat(c.at("/securityContext/allowPrivilegeEscalation").asBoolean(true)).as(name).isFalse();
      assertThat(c.at("/securityContext/capabilities/drop").toString()).as(name).contains("ALL");
      assertThat(c.at("/resources/limits/memory").isMissingNode()).as(name).isFalse();
      assertThat(c.has("readinessProbe") && c.has("livenessProbe")).as(name).isTrue();
      assertThat(c.at("/lifecycle/preStop/sleep/seconds").asInt()).as(name + " keeps serving while the pod leaves the Service")
          .isGreaterThanOrEqualTo(5);
      if (name.equals("gateway")) {
        assertThat(c.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/readyz");
        assertThat(c.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/livez");
        assertThat(c.at("/readinessProbe/httpGet/port").asText()).isEqualTo("admin");
      }
    }
    for (JsonNode d : docs) {
      if (d.path("metadata").path("name").asText().equals("keystone-config")) {
        Path tmp = Files.createTempFile("keystone-config", ".yaml");
        Files.writeString(tmp, d.at("/data/config.yaml").asText());
        var config = new ConfigLoader(k -> k.equals("KEYSTONE_ADMIN_TOKEN") ? "from-the-secret-0123456789" : null).load(tmp);
        assertThat(config.tenants()).hasSize(1);
        assertThat(config.admin().token()).isEqualTo("from-the-secret-0123456789");
        assertThat(config.admin().listen().host()).as("the kubelet probes the pod IP").isEqualTo("0.0.0.0");
      }
      if (d.path("metadata").path("name").asText().equals("keystone-scripts")) {
        d.get("data").fields().forEachRemaining(e -> {
          try {
            LuaScript.compile(e.getKey(), e.getKey(), e.getValue().asText());
          } catch (LuaScript.SyntaxError err) {
            throw new AssertionError(err.getMessage());
          }
        });
      }
    }
  }

  @Test
  void theGrafanaDashboardQueriesOnlyDocumentedMetrics() throws Exception {
    JsonNode dashboard = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Path.of("deploy/grafana/keystone-dashboard.json").toFile());
    String doc = Files.readString(Path.of("docs/observability.md"));
    java.util.Set<String> documented = new java.util.HashSet<>();
    java.util.regex.Matcher d = java.util.regex.Pattern.compile("(?m)^\\| `((?:keystone|jvm)_[a-z_]+)` \\|").matcher(doc);
    while (d.find()) {
      documented.add(d.group(1));
    }
    List<String> exprs = dashboard.findValues("expr").stream().map(JsonNode::asText).toList();
    assertThat(exprs).hasSizeGreaterThan(10);
    for (String expr : exprs) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b((?:keystone|jvm)_[a-z_]+)").matcher(expr);
      assertThat(m.find()).as(expr).isTrue();
      do {
        String family = m.group(1).replaceAll("_(bucket|sum|count)$", "");
        assertThat(documented).as("a documented metric in: " + expr).contains(family);
      } while (m.find());
    }
  }

  @Test
  void imagesRunAsNonRootWithHealthChecks() throws Exception {
    for (String file : List.of("deploy/Dockerfile.gateway", "deploy/Dockerfile.engine")) {
      String text = Files.readString(Path.of(file));
      assertThat(text).as(file).containsPattern("(?m)^USER 100\\d\\d:100\\d\\d$").contains("HEALTHCHECK");
    }
  }

  @Test
  void theClusterComposeFileIsHardenedAndPushesAConfigThatLoads() throws Exception {
    JsonNode root = documents(Path.of("deploy/cluster/docker-compose.yml")).get(0);
    JsonNode services = root.get("services");
    List<String> names = new ArrayList<>();
    services.fieldNames().forEachRemaining(names::add);
    assertThat(names).containsExactlyInAnyOrder("etcd", "redis", "push-config", "gateway-a", "gateway-b");
    for (String name : names) {
      JsonNode s = services.get(name);
      ObjectNode effective = YAML.createObjectNode();
      if (s.has("<<")) {
        JsonNode merged = s.get("<<").isTextual() ? root.get("x-" + s.get("<<").asText()) : s.get("<<");
        if (merged.has("<<")) {
          JsonNode inner = merged.get("<<").isTextual() ? root.get("x-" + merged.get("<<").asText()) : merged.get("<<");
          effective.setAll((ObjectNode) inner);
        }
        effective.setAll((ObjectNode) merged);
      }
      effective.setAll((ObjectNode) s);
      effective.remove("<<");
      assertThat(effective.path("read_only").asBoolean()).as(name).isTrue();
      assertThat(effective.path("cap_drop").toString()).as(name).contains("ALL");
      assertThat(effective.has("mem_limit")).as(name).isTrue();
      if (name.startsWith("gateway")) {
        assertThat(effective.path("command").toString()).as(name).contains("--config-store").contains("etcd://etcd:2379/compose");
      }
    }
    assertThat(services.get("push-config").path("command").toString()).contains("config").contains("push");
    GatewayConfig c = new ConfigLoader(k -> null).load(Path.of("deploy/cluster/cluster-config.yaml"));
    assertThat(c.stateStore()).isEqualTo("redis://redis:6379");
    assertThat(c.tenants().get(0).policies().rateLimits().get(0).cluster()).isTrue();
  }

  @Test
  void theKubernetesClusterRunsThreeEtcdMembersAndGatewaysOnTheStore() throws Exception {
    List<JsonNode> docs = documents(Path.of("deploy/kubernetes/cluster.yaml"));
    JsonNode etcd = docs.stream().filter(d -> d.path("kind").asText().equals("StatefulSet")).findFirst().orElseThrow();
    assertThat(etcd.at("/spec/replicas").asInt()).isEqualTo(3);
    JsonNode gateway = docs.stream().filter(d -> d.path("kind").asText().equals("Deployment")
        && d.at("/metadata/name").asText().equals("keystone")).findFirst().orElseThrow();
    JsonNode c = gateway.at("/spec/template/spec/containers/0");
    assertThat(c.path("args").toString()).contains("--config-store").contains("keystone-etcd-2.keystone-etcd:2379");
    dev.keystone.cluster.StoreUrl.parse(c.path("args").get(1).asText());
    for (JsonNode d : docs) {
      JsonNode pod = d.at("/spec/template/spec");
      if (pod.isMissingNode()) {
        continue;
      }
      assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).as(d.at("/metadata/name").asText()).isTrue();
      assertThat(pod.path("automountServiceAccountToken").asBoolean(true)).isFalse();
      for (JsonNode container : pod.get("containers")) {
        assertThat(container.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(container.at("/securityContext/capabilities/drop").toString()).contains("ALL");
        assertThat(container.at("/resources/limits/memory").isMissingNode()).isFalse();
        assertThat(container.has("readinessProbe") && container.has("livenessProbe")).isTrue();
      }
    }
  }
}
