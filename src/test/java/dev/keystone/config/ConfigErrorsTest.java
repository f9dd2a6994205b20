package dev.keystone.config;

import dev.keystone.model.PassiveHealth;
import dev.keystone.model.Timeouts;
import dev.keystone.model.Limits;
import dev.keystone.model.EscapedSlashes;


import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Invalid configs are rejected with every error at once, each naming file, line and key. */
class ConfigErrorsTest {

  static List<ConfigError> errors(String yaml) {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> new ConfigLoader(Map.of("TOKEN", "s3cret")::get).parse(yaml, "test.yaml"));
    assertThat(e).as("expected the config to be rejected").isNotNull();
    return e.errors();
  }

  @Test
  void unknownKeyGetsADidYouMeanHintWithLine() {
    List<ConfigError> errors = errors("""
        tenants:
          - name: a
            path_prefx: /a/
            services:
              - name: s
                url: http://127.0.0.1:1
        """);
    assertThat(errors).anySatisfy(e -> {
      assertThat(e.file()).isEqualTo("test.yaml");
      assertThat(e.line()).isEqualTo(3);
      assertThat(e.key()).isEqualTo("tenants[0].path_prefx");
      assertThat(e.message()).contains("unknown key").contains("did you mean 'path_prefix'");
    });
  }

  @Test
  void allErrorsAreReportedAtOnceInLineOrder() {
    List<ConfigError> errors = errors("""
        listen: 127.0.0.1:99999
        tenants:
          - name: shop
            path_prefix: /shop
            services:
              - name: web
                url: ftp://files.example.com
          - name: shop
            domains: [ "bad domain" ]
            services:
              - name: web
                url: http://127.0.0.1:1
                weight: 0
          - name: other
            domains: [ "*.example.com" ]
            path_prefix: /x/
            services:
              - name: a
                url: http://127.0.0.1:2
          - name: other2
            domains: [ "*.example.com" ]
            path_prefix: /x/
            services:
              - name: a
                url: http://127.0.0.1:3
              - name: a
                url: not a url
        """);
    assertThat(errors).extracting(ConfigError::key).contains(
        "listen", "tenants[0].path_prefix", "tenants[0].services[0].url", "tenants[1].name",
        "tenants[1].domains[0]", "tenants[1].services[0].weight", "tenants[3].domains",
        "tenants[3].services[1].name", "tenants[3].services[1].url");
    assertThat(errors).extracting(ConfigError::line).isSorted().doesNotContain(0);
    assertThat(errors).filteredOn(e -> e.key().equals("tenants[1].name"))
        .singleElement().satisfies(e -> {
          assertThat(e.line()).isEqualTo(8);
          assertThat(e.message()).contains("duplicate tenant name 'shop'");
        });
    assertThat(errors).filteredOn(e -> e.key().equals("tenants[3].domains"))
        .singleElement().satisfies(e -> assertThat(e.message()).contains("already claimed by tenant 'other'"));
    assertThat(errors).filteredOn(e -> e.key().equals("tenants[0].path_prefix"))
        .singleElement().satisfies(e -> assertThat(e.line()).isEqualTo(4));
  }

  @Test
  void twoTenantsClaimingTheSameHostOrPrefixAreRejected() {
    List<ConfigError> errors = errors("""
        tenants:
          - name: a
            domains: [app.example.com]
            services: [{name: s, url: "http://127.0.0.1:1"}]
          - name: b
            domains: [APP.example.com]
            services: [{name: s, url: "http://127.0.0.1:1"}]
          - name: c
            path_prefix: /p/
            services: [{name: s, url: "http://127.0.0.1:1"}]
          - name: d
            path_prefix: /p/
            services: [{name: s, url: "http://127.0.0.1:1"}]
        """);
    assertThat(errors).extracting(ConfigError::message).anyMatch(m -> m.contains("claims host app.example.com"))
        .anyMatch(m -> m.contains("claims prefix /p/"));
  }

  @Test
  void typeErrorsAndMissingKeysAreNamed() {
    List<ConfigError> errors = errors("""
        timeouts:
          connect: soon
        limits:
          max_body_size: lots
        tenants:
          - path_prefix: /a/
            health_interval: often
          - name: b
            path_prefix: /b/
            services:
              - url: http://127.0.0.1:1
              - name: x
        """);
    assertThat(errors).extracting(ConfigError::key).contains("timeouts.connect", "limits.max_body_size",
        "tenants[0].name", "tenants[0].health_interval", "tenants[0].services", "tenants[1].services[0].name",
        "tenants[1].services[1].url");
  }

  @Test
  void environmentVariablesAreInterpolated() throws Exception {
    GatewayConfig c = new ConfigLoader(Map.of("BACKEND_PORT", "9000", "TOKEN", "s3cret")::get).parse("""
        tenants:
          - name: a
            path_prefix: /a/
            services:
              - name: s
                url: http://127.0.0.1:${BACKEND_PORT}/base
                labels: { token: "${TOKEN}", region: "${REGION:-eu}", literal: "$${NOT_A_VAR}" }
        """, "env.yaml");
    var s = c.tenants().get(0).services().get(0);
    assertThat(s.url()).isEqualTo("http://127.0.0.1:9000/base");
    assertThat(s.labels()).containsEntry("token", "s3cret").containsEntry("region", "eu")
        .containsEntry("literal", "${NOT_A_VAR}");
  }

  @Test
  void anUnsetVariableIsAnError() {
    List<ConfigError> errors = errors("""
        tenants:
          - name: a
            path_prefix: /a/
            services:
              - name: s
                url: http://${MISSING_HOST}:80
        """);
    assertThat(errors).singleElement().satisfies(e -> {
      assertThat(e.line()).isEqualTo(6);
      assertThat(e.message()).contains("MISSING_HOST is not set");
    });
  }

  @Test
  void bodyBufferIsCheckedAtLoad() {
    ConfigException e = org.assertj.core.api.Assertions.catchThrowableOfType(ConfigException.class,
        () -> new ConfigLoader(k -> null).parse("""
            limits: { body_buffer: 2MiB }
            tenants: []
            """, "b.yaml"));
    assertThat(e.getMessage()).contains("b.yaml:1: limits.body_buffer: must be between 0 and 1MiB");
  }

  @Test
  void extensionsParse() throws Exception {
    GatewayConfig c = new ConfigLoader(k -> null).parse("""
        listen: "[::1]:9090"
        admin_base_path: /ops
        timeouts: { connect: 250ms, response_header: 2m, idle: 90, header_read: 1.5s, shutdown: 1h, pool_wait: 3s, shutdown_delay: 5s }
        limits: { max_header_size: 32KiB, max_uri_length: 4k, max_body_size: 10MB, upstream_connections: 64, body_buffer: 16KiB }
        passive_health: { consecutive_failures: 3, ejection: 10s }
        escaped_slashes: pass
        tenants:
          - name: a
            domains: ["*.Example.com"]
            strip_prefix: false
            preserve_host: no
            health_interval: 500ms
            services:
              - { name: s, url: "https://10.0.0.1/v1?x=1", weight: 5, labels: { version: canary } }
        """, "ext.yaml");
    assertThat(c.listen()).isEqualTo(new ListenAddress("::1", 9090));
    assertThat(c.adminBasePath()).isEqualTo("/ops");
    assertThat(c.timeouts()).isEqualTo(new Timeouts(Duration.ofMillis(250), Duration.ofMinutes(2),
        Duration.ofSeconds(90), Duration.ofMillis(1500), Duration.ofHours(1), Duration.ofSeconds(3), Duration.ofSeconds(5)));
    assertThat(c.limits()).isEqualTo(new Limits(32 * 1024, 4096, 10L * 1024 * 1024, 64, 16 * 1024));
    assertThat(c.passiveHealth()).isEqualTo(new PassiveHealth(3, Duration.ofSeconds(10)));
    assertThat(c.tenants().get(0).escapedSlashes()).isEqualTo(EscapedSlashes.PASS);
    TenantConfig t = c.tenants().get(0);
    assertThat(t.domains()).containsExactly("*.example.com");
    assertThat(t.stripPrefix()).isFalse();
    assertThat(t.preserveHost()).isFalse();
    assertThat(t.healthInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(t.services().get(0).weight()).isEqualTo(5);
  }

  @Test
  void invalidYamlNamesTheLine() {
    List<ConfigError> errors = errors("tenants:\n  - name: a\n   bad: [\n");
    assertThat(errors).singleElement().satisfies(e -> {
      assertThat(e.message()).startsWith("invalid YAML");
      assertThat(e.line()).isPositive();
    });
  }

  @Test
  void emptyFileIsAClearError() {
    assertThat(errors("")).singleElement().satisfies(e -> assertThat(e.message()).contains("empty"));
  }

  @Test
  void exceptionMessageListsEveryError() {
    assertThatThrownBy(() -> new ConfigLoader(k -> null).parse("tenants:\n  - name: a\n    colour: red\n", "f.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("f.yaml:3: tenants[0].colour: unknown key")
        .hasMessageContaining("tenants[0]: tenant 'a' must specify domains, path_prefix, or both");
  }
}
