package dev.keystone.config;

import dev.keystone.script.LuaScript;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The cached form of a config ({@link ConfigCodec}) reads back equal to the config it was written
 * from: every example config, and configs that set every key to something other than its default
 * (a field the codec forgot would read back as a default, or shift everything after it).
 */
class ConfigCodecTest {

  /** A CA certificate (self-signed, only parsed here). */
  static final String CA_PEM = """
      -----BEGIN CERTIFICATE-----
      MIIBkjCCATegAwIBAgIUM5fH24tJJt8z7ghc+jlbsVHWcukwCgYIKoZIzj0EAwIw
      HjEcMBoGA1UEAwwTS2V5c3RvbmUgY2FjaGUgdGVzdDAeFw0yNjEyMDYxNDExMTBa
      Fw0zNjEyMDMxNDExMTBaMB4xHDAaBgNVBAMME0tleXN0b25lIGNhY2hlIHRlc3Qw
      WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATtq9zneqXlbIxoswu1AK96NJEFJi2W
      o5+40WhFbDV6wZVBUjedBx/XXg2+rSMtkX6iCy47+NKVo3CnDXmwt9kxo1MwUTAd
      BgNVHQ4EFgQUNxu+6alVAL2Pkuz6H+6WN8sNfbAwHwYDVR0jBBgwFoAUNxu+6alV
      AL2Pkuz6H+6WN8sNfbAwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
      AiEA+LKHOdAHtRkzWgbervlr7DbpBSH27pPSt1IX1P5Wo9ECIQC4kcQ/WswQNYoK
      aZ33UCXqKkQmVgHWz4TZ1J7MN06XAQ==
      -----END CERTIFICATE-----
      """;

  /** Every top-level, tenant and service key, none at its default; the engine reached by URL. */
  static String everyKeyRemote(Path dir) {
    return """
        listen: 127.0.0.1:18080
        tls_listen: 127.0.0.1:18443
        tls_default: { cert: fallback.pem, key: fallback.key }
        acme: { directory: "https://127.0.0.1:9/dir", email: ops@example.com, ca_root: ca.pem, data_dir: acme-data, challenges: [tls-alpn-01] }
        admin_base_path: /_ks
        scripts_dir: lua
        escaped_slashes: pass
        timeouts: { connect: 2s, response_header: 7s, idle: 8s, header_read: 9s, shutdown: 11s, pool_wait: 3s, shutdown_delay: 250ms }
        limits: { max_header_size: 32KB, max_uri_length: 4KB, max_body_size: 5MB, upstream_connections: 77, body_buffer: 8KB }
        script_limits: { instructions: 123456, deadline: 40ms, max_string: 2MB, max_depth: 90, max_memory: 24MB, max_state: 4MB, time_per_second: 300ms }
        admin: { enabled: true, listen: 127.0.0.1:19901, token: "0123456789abcdef0123" }
        passive_health: { consecutive_failures: 3, ejection: 45s }
        state_store: redis://127.0.0.1:16379/2
        lua_engine: { enabled: true, url: ["http://127.0.0.1:18081", "http://127.0.0.1:18082"], timeout: 75ms }
        tenants:
          - name: shop
            domains: ["Shop.Example.com", "www.shop.example.com"]
            path_prefix: /shop/
            health_interval: 7s
            strip_prefix: false
            preserve_host: false
            lua_script: pick
            script_engine: embedded
            on_script_error: fail_open
            script_body: 4KB
            script_mode: shadow
            mirror: { backend: c, percent: 25 }
            escaped_slashes: reject
            tls: auto
            services:
              - { name: a, url: "https://127.0.0.1:18443/base/", health: /up, weight: 7, labels: { zone: eu, tier: gold }, tls_ca: ca.pem, tls_server_name: api.internal }
              - { name: b, url: "https://127.0.0.1:18444", tls_verify: false }
              - { name: c, url: "http://127.0.0.1:18445?x=1", weight: 2, standby: true }
          - name: again
            path_prefix: /again/
            lua_script: pick
            script_engine: embedded
            services: [{ name: s, url: "http://127.0.0.1:18446" }]
          - name: remote
            domains: [remote.example.com]
            lua_script: elsewhere
            tls: { cert: remote.pem, key: remote.key }
            https_redirect: true
            hsts: 180d
            rate_limits:
              - { limit: 50, window: 10s, key: "header:X-User", algorithm: sliding_window }
              - { limit: 1000, window: 1h, key: tenant, algorithm: token_bucket, scope: cluster, on_store_failure: deny, batch: 7 }
            client_ca: ca.pem
            client_auth: optional
            services: [{ name: s, url: "http://127.0.0.1:18447" }]
          - name: intranet
            domains: ["*.corp.example.com"]
            tls: local
            services: [{ name: s, url: "http://127.0.0.1:18448" }]
        """;
  }

  /** The keys of a supervised engine and process isolation. */
  static String everyKeySupervised() {
    return """
        lua_engine:
          enabled: true
          timeout: 60ms
          supervise: { command: ["node", "engine.js", "--flag"], scripts: engine-scripts, sandbox: none, memory: 96MB, cpus: 2, max_processes: 64 }
        tenants:
          - name: alone
            path_prefix: /alone/
            lua_script: pick
            isolation: process
            isolation_group: group-1
            services: [{ name: s, url: "http://127.0.0.1:18448" }]
          - name: shared
            path_prefix: /shared/
            lua_script: pick
            services: [{ name: s, url: "http://127.0.0.1:18449" }]
        """;
  }

  /** {@link #everyKeyRemote} loaded from {@code dir}, with its scripts and CA file. */
  static GatewayConfig loadEveryKeyRemote(Path dir) throws Exception {
    scriptsAndCa(dir);
    Path remote = dir.resolve("remote.yaml");
    Files.writeString(remote, everyKeyRemote(dir));
    return new ConfigLoader(k -> null).load(remote);
  }

  static void scriptsAndCa(Path dir) throws IOException {
    Files.createDirectories(dir.resolve("lua"));
    Files.writeString(dir.resolve("lua/pick.lua"), "function on_request(req) return { backend = 'a' } end\n");
    Files.createDirectories(dir.resolve("engine-scripts"));
    Files.writeString(dir.resolve("engine-scripts/pick.js"), "exports.on_request = () => ({ backend: 's' })\n");
    Files.writeString(dir.resolve("ca.pem"), CA_PEM);
    if (!Files.exists(dir.resolve("remote.pem"))) {
      dev.keystone.testing.TestCertificates certs = dev.keystone.testing.TestCertificates.in(dir);
      certs.issue("remote", "remote.example.com");
      certs.issue("fallback", "default.example.com");
    }
  }

  @Test
  void everyExampleReadsBackEqual() throws Exception {
    List<Path> files;
    try (Stream<Path> s = Files.list(Path.of("examples"))) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(files).hasSizeGreaterThanOrEqualTo(5);
    for (Path f : files) {
      GatewayConfig c = new ConfigLoader(Map.of("PARTNER_TOKEN", "t0k")::get).load(f);
      assertRoundTrip(c);
    }
    String yaml = new String(ConfigCodecTest.class.getResourceAsStream("/embedded-default.yaml").readAllBytes());
    GatewayConfig embedded = new ConfigLoader(Map.of("KEYSTONE_DEMO_BLUE", "1", "KEYSTONE_DEMO_GREEN", "2")::get)
        .parse(yaml, "embedded default");
    assertThat(embedded.tenants().get(3).script().chunkName()).startsWith("classpath:");
    assertRoundTrip(embedded);
  }

  @Test
  void everyKeyReadsBackEqual(@TempDir Path dir) throws Exception {
    GatewayConfig c = loadEveryKeyRemote(dir);
    // the config really sets what the codec must carry
    assertThat(c.tenants().get(0).script()).isNotNull();
    assertThat(c.tenants().get(0).script()).isSameAs(c.tenants().get(1).script());
    assertThat(c.tenants().get(0).services().get(0).tls().caFile()).isEqualTo(dir.resolve("ca.pem"));
    assertThat(c.tenants().get(2).script()).isNull();
    GatewayConfig back = assertRoundTrip(c);
    assertThat(back.tenants().get(0).script()).as("one script, one compiled copy").isSameAs(back.tenants().get(1).script());

    Path supervised = dir.resolve("supervised.yaml");
    Files.writeString(supervised, everyKeySupervised());
    GatewayConfig s = new ConfigLoader(k -> null).load(supervised);
    assertThat(s.luaEngine().supervise().command()).containsExactly("node", "engine.js", "--flag");
    assertThat(s.tenants().get(0).isolationGroup()).isEqualTo("group-1");
    assertRoundTrip(s);
    // the engine a tenant is given when the gateway starts it (withOwnEngine) is carried too
    TenantConfig own = s.tenants().get(0).withOwnEngine(s.luaEngine().withUrls(List.of("http://127.0.0.1:1")));
    List<TenantConfig> tenants = new ArrayList<>(s.tenants());
    tenants.set(0, own);
    assertRoundTrip(s.withTenants(tenants));
  }

  @Test
  void damagedBytesFailInsteadOfReadingSomethingElse(@TempDir Path dir) throws Exception {
    GatewayConfig c = loadEveryKeyRemote(dir);
    byte[] bytes = ConfigCodec.encode(c);
    Map<String, byte[]> files = scriptFiles(c);
    assertThatThrownBy(() -> ConfigCodec.decode(java.util.Arrays.copyOf(bytes, bytes.length - 1), files))
        .isInstanceOf(RuntimeException.class);
    byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + 1);
    assertThatThrownBy(() -> ConfigCodec.decode(longer, files)).isInstanceOf(RuntimeException.class);
    // a script the inputs did not check is never read from the disk behind their back
    assertThatThrownBy(() -> ConfigCodec.decode(bytes, Map.of())).isInstanceOf(LuaScript.SyntaxError.class)
        .hasMessageContaining("pick.lua");
  }

  /** Encodes and decodes {@code c} and asserts the result equals it; returns the result. */
  static GatewayConfig assertRoundTrip(GatewayConfig c) throws Exception {
    GatewayConfig back = ConfigCodec.decode(ConfigCodec.encode(c), scriptFiles(c));
    assertThat(withoutScripts(back)).as(c.source()).isEqualTo(withoutScripts(c));
    for (int i = 0; i < c.tenants().size(); i++) {
      LuaScript was = c.tenants().get(i).script();
      LuaScript is = back.tenants().get(i).script();
      if (was == null) {
        assertThat(is).as(c.source() + " tenant " + i).isNull();
      } else {
        assertThat(is).as(c.source() + " tenant " + i).isNotNull().isNotSameAs(was);
        assertThat(is.name()).isEqualTo(was.name());
        assertThat(is.chunkName()).isEqualTo(was.chunkName());
        assertThat(is.footprint()).isEqualTo(was.footprint());
      }
    }
    return back;
  }

  /** The checked content of the script files, as the cache hands them to the decoder. */
  static Map<String, byte[]> scriptFiles(GatewayConfig c) throws IOException {
    Map<String, byte[]> files = new HashMap<>();
    for (TenantConfig t : c.tenants()) {
      if (t.script() != null && !t.script().chunkName().startsWith("classpath:")) {
        files.put(t.script().chunkName(), Files.readAllBytes(Path.of(t.script().chunkName())));
      }
    }
    return files;
  }

  /** Compiled scripts compare by identity: the rest of the config compares as records. */
  static GatewayConfig withoutScripts(GatewayConfig c) {
    List<TenantConfig> tenants = new ArrayList<>();
    for (TenantConfig t : c.tenants()) {
      tenants.add(new TenantConfig(t.name(), t.domains(), t.pathPrefix(), t.healthInterval(), t.rawHealthInterval(),
          t.stripPrefix(), t.preserveHost(), t.luaScript(), null, t.scriptFailOpen(), t.scriptBody(), t.scriptShadow(), t.services(),
          t.escapedSlashes(), t.isolationGroup(), t.ownEngine(), t.tls(), t.httpsRedirect(), t.hsts(), t.clientAuth(),
          t.mirror(), t.catalog(), t.policies()));
    }
    return c.withTenants(tenants);
  }
}
