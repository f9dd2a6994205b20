package dev.keystone.config;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The parsed form kept beside a config file ({@link ConfigCache}) is reused only while the file
 * and everything its parse read are unchanged; anything else is parsed as if there were no cache,
 * with the same result or the same errors.
 */
class ConfigCacheTest {

  @TempDir
  Path dir;
  Path file;
  final Map<String, String> env = new HashMap<>();
  ConfigCache cache;
  ConfigLoader loader;

  @BeforeEach
  void setUp() throws Exception {
    ConfigCodecTest.scriptsAndCa(dir);
    file = dir.resolve("keystone.yaml");
    Files.writeString(file, ConfigCodecTest.everyKeyRemote(dir).replace("127.0.0.1:18446", "127.0.0.1:${PORT}"));
    env.put("PORT", "18446");
    cache = new ConfigCache("build-1");
    loader = new ConfigLoader(env::get).withCache(cache);
  }

  /** What a test's last load stored is written before its directory is removed. */
  @org.junit.jupiter.api.AfterEach
  void flush() throws Exception {
    cache.flush();
  }

  /** Loads through the cache and waits until what it stored is written. */
  GatewayConfig load() throws Exception {
    GatewayConfig c = loader.load(file);
    cache.flush();
    return c;
  }

  @Test
  void theSecondLoadReusesTheFirstAndEqualsAFreshParse() throws Exception {
    GatewayConfig first = load();
    assertThat(cache.hits()).isZero();
    Path entry = ConfigCache.fileFor(file);
    assertThat(entry.getFileName().toString()).isEqualTo(".keystone.yaml.keystone-cache");
    assertThat(Files.getPosixFilePermissions(entry)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    GatewayConfig second = load();
    assertThat(cache.hits()).isEqualTo(1);
    assertThat(ConfigCodecTest.withoutScripts(second)).isEqualTo(ConfigCodecTest.withoutScripts(first));
    assertThat(second.tenants().get(0).script().chunkName()).isEqualTo(dir.resolve("lua/pick.lua").toString());
    assertThat(second.tenants().get(1).services().get(0).url()).isEqualTo("http://127.0.0.1:18446");
    try (var s = Files.list(dir)) {
      assertThat(s.filter(p -> p.getFileName().toString().endsWith(".tmp"))).as("no temporary file left").isEmpty();
    }
  }

  @Test
  void anEditedFileIsParsedAndStoredAgain() throws Exception {
    load();
    Files.writeString(file, Files.readString(file).replace("name: again", "name: other"));
    assertThat(load().tenants().get(1).name()).isEqualTo("other");
    assertThat(cache.hits()).isZero();
    assertThat(load().tenants().get(1).name()).isEqualTo("other");
    assertThat(cache.hits()).isEqualTo(1);
  }

  @Test
  void aChangedEnvironmentVariableIsAMiss() throws Exception {
    load();
    env.put("PORT", "18999");
    assertThat(load().tenants().get(1).services().get(0).url()).isEqualTo("http://127.0.0.1:18999");
    env.remove("PORT");
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class).hasMessageContaining("PORT is not set");
    assertThat(cache.hits()).isZero();
  }

  @Test
  void aScriptThatNoLongerCompilesIsAnErrorNotAHit() throws Exception {
    load();
    Files.writeString(dir.resolve("lua/pick.lua"), "function on_request(req) return { backend = \n");
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class).hasMessageContaining("pick.lua")
        .hasMessageContaining("does not compile");
    Files.delete(dir.resolve("lua/pick.lua"));
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class).hasMessageContaining("not found");
    assertThat(cache.hits()).isZero();
  }

  @Test
  void anEditedScriptIsCompiledFromItsNewText() throws Exception {
    load();
    Files.writeString(dir.resolve("lua/pick.lua"), "function on_request(req) return { backend = 'b' } end -- v2\n");
    GatewayConfig c = load();
    assertThat(cache.hits()).isZero();
    long size = c.tenants().get(0).script().footprint();
    GatewayConfig again = load();
    assertThat(cache.hits()).isEqualTo(1);
    assertThat(again.tenants().get(0).script().footprint()).isEqualTo(size);
  }

  @Test
  void aScriptReplacedByAFifoIsRefusedNotWaitedOn() throws Exception {
    load();
    Path script = dir.resolve("lua/pick.lua");
    Files.delete(script);
    assertThat(new ProcessBuilder("mkfifo", script.toString()).start().waitFor()).isZero();
    // a hang guard, not a speed claim: reading a fifo blocks until someone writes to it
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () ->
        assertThatThrownBy(this::load).isInstanceOf(ConfigException.class).hasMessageContaining("not a regular file"));
    assertThatThrownBy(() -> new ConfigLoader(env::get).load(file)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("not a regular file");
  }

  @Test
  void aRemovedOrReplacedCaFileIsAMiss() throws Exception {
    load();
    Files.writeString(dir.resolve("ca.pem"), "not a certificate\n");
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class).hasMessageContaining("tls_ca");
    Files.delete(dir.resolve("ca.pem"));
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class).hasMessageContaining("cannot read ca.pem");
    assertThat(cache.hits()).isZero();
  }

  @Test
  void theScriptsOfAnotherLanguagesEngineAreCheckedForPresence() throws Exception {
    Files.writeString(file, ConfigCodecTest.everyKeySupervised());
    load();
    assertThat(load().tenants()).hasSize(2);
    assertThat(cache.hits()).isEqualTo(1);
    Files.delete(dir.resolve("engine-scripts/pick.js"));
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class).hasMessageContaining("script 'pick' not found");
    Files.writeString(dir.resolve("engine-scripts/pick.lua"), "-- now in Lua\n");
    assertThat(load().tenants()).hasSize(2);
    assertThat(cache.hits()).isEqualTo(1);
  }

  @Test
  void anotherBuildDoesNotReuseTheEntry() throws Exception {
    load();
    ConfigCache other = new ConfigCache("build-2");
    new ConfigLoader(env::get).withCache(other).load(file);
    other.flush();
    assertThat(other.hits()).isZero();
  }

  @Test
  void aDamagedEntryIsIgnored() throws Exception {
    GatewayConfig first = load();
    Path entry = ConfigCache.fileFor(file);
    byte[] bytes = Files.readAllBytes(entry);
    for (int at : new int[] {0, 9, bytes.length / 2, bytes.length - 1}) {
      byte[] damaged = bytes.clone();
      damaged[at] ^= 0x20;
      Files.write(entry, damaged);
      GatewayConfig c = loader.load(file);
      assertThat(c.tenants()).hasSize(first.tenants().size());
      assertThat(cache.hits()).as("byte " + at).isZero();
      cache.flush();
    }
    Files.write(entry, java.util.Arrays.copyOf(bytes, bytes.length / 3));
    assertThat(loader.load(file).tenants()).hasSize(first.tenants().size());
    assertThat(cache.hits()).isZero();
  }

  @Test
  void anEntryOthersCanWriteOrOwnIsIgnored() throws Exception {
    load();
    Path entry = ConfigCache.fileFor(file);
    Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("rw-rw-rw-"));
    loader.load(file);
    assertThat(cache.hits()).isZero();
    cache.flush();
    // readable by others is refused too: it holds the config's secrets (attack s12-F6)
    Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("rw-r--r--"));
    loader.load(file);
    assertThat(cache.hits()).isZero();
    cache.flush(); // stored again, as this user's, mode 0600
    assertThat(Files.getPosixFilePermissions(entry)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    loader.load(file);
    assertThat(cache.hits()).isEqualTo(1);
    cache.flush();
    if (Files.getAttribute(Path.of("/proc/self"), "unix:uid").equals(0)) {
      Files.setAttribute(entry, "unix:uid", 12345); // another user's file
      loader.load(file);
      assertThat(cache.hits()).isEqualTo(1);
      cache.flush();
    }
  }

  @Test
  void aLinkAtTheEntrysNameIsNotFollowed() throws Exception {
    load();
    Path entry = ConfigCache.fileFor(file);
    Path elsewhere = dir.resolve("elsewhere");
    Files.move(entry, elsewhere);
    Files.createSymbolicLink(entry, elsewhere);
    loader.load(file);
    assertThat(cache.hits()).isZero();
    cache.flush();
    assertThat(Files.isSymbolicLink(entry)).as("the link is replaced by an entry").isFalse();
    byte[] target = Files.readAllBytes(elsewhere);
    loader.load(file);
    assertThat(cache.hits()).isEqualTo(1);
    assertThat(Files.readAllBytes(elsewhere)).as("the link's target is untouched").isEqualTo(target);
  }

  @Test
  void aFileWithTheSameLengthAndChecksumsIsNotTakenForTheCachedOne() throws Exception {
    // Attack s12-F1: these two files have the same length, CRC32 and CRC32C (the second was
    // forged so); the entry compared only those and served the first for the second.
    byte[] a = ConfigCacheTest.class.getResourceAsStream("/config-cache/same-crc-a.yaml").readAllBytes();
    byte[] b = ConfigCacheTest.class.getResourceAsStream("/config-cache/same-crc-b.yaml").readAllBytes();
    java.util.zip.CRC32 ca = new java.util.zip.CRC32();
    ca.update(a);
    java.util.zip.CRC32 cb = new java.util.zip.CRC32();
    cb.update(b);
    assertThat(b).hasSameSizeAs(a);
    assertThat(cb.getValue()).isEqualTo(ca.getValue());
    Files.write(file, a);
    assertThat(load().tenants().get(0).services().get(0).url()).isEqualTo("http://127.0.0.1:19901");
    Files.write(file, b);
    assertThat(load().tenants().get(0).services().get(0).url()).isEqualTo("http://127.0.0.1:19902");
    assertThat(cache.hits()).isZero();
  }

  @Test
  void aConfigTooLargeToEncodeSafelyIsServedButNotStored() throws Exception {
    // Attack s12-F5: 77 MB of interpolated labels; encoding them ended the gateway (out of heap).
    cache = new ConfigCache("build-1", 1 << 20);
    loader = new ConfigLoader(env::get).withCache(cache);
    env.put("BIG", "x".repeat(512 * 1024));
    Files.writeString(file, """
        tenants:
          - { name: a, path_prefix: /a/, services: [{ name: s, url: "http://127.0.0.1:1", labels: { k: "${BIG}" } }] }
          - { name: b, path_prefix: /b/, services: [{ name: s, url: "http://127.0.0.1:1", labels: { k: "${BIG}-2" } }] }
        """);
    assertThat(load().tenants().get(1).services().get(0).labels().get("k")).hasSize(512 * 1024 + 2);
    assertThat(ConfigCache.fileFor(file)).doesNotExist();
  }

  @Test
  void aConfigThatIsAFifoOrADeviceIsRefusedNotWaitedOn() throws Exception {
    Path fifo = dir.resolve("fifo.yaml");
    assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
      assertThatThrownBy(() -> loader.load(fifo)).isInstanceOf(ConfigException.class).hasMessageContaining("not a regular file");
      assertThatThrownBy(() -> loader.load(Path.of("/dev/zero"))).isInstanceOf(ConfigException.class)
          .hasMessageContaining("not a regular file");
    });
  }

  @Test
  void twoJarsOfTheSameSizeAndTimeAreTwoBuilds() throws Exception {
    // Attack s12-F4: the build was the jar's size and time, which normalised builds share.
    Path one = dir.resolve("one.jar");
    Path two = dir.resolve("two.jar");
    Files.write(one, new byte[] {1, 2, 3, 4});
    Files.write(two, new byte[] {1, 2, 3, 5});
    Files.setLastModifiedTime(two, Files.getLastModifiedTime(one));
    assertThat(ConfigCache.jarIdentity(one)).isNotNull().isNotEqualTo(ConfigCache.jarIdentity(two));
    assertThat(ConfigCache.jarIdentity(one)).isEqualTo(ConfigCache.jarIdentity(one));
  }

  @Test
  void aConfigWithErrorsIsNeverStored() throws Exception {
    Files.writeString(file, "tenants:\n  - name: x\n    path_prefix: /x/\n    services: [{ name: s, url: \"http://127.0.0.1:1\", weight: 0 }]\n");
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class).hasMessageContaining("weight");
    assertThat(ConfigCache.fileFor(file)).doesNotExist();
  }

  @Test
  void textThatIsNotUtf8IsAnErrorNamingItsLine() throws Exception {
    byte[] yaml = "tenants:\n  - name: caf\u00e9\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    Files.write(file, yaml);
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class)
        .hasMessageContaining("keystone.yaml:2")
        .hasMessageContaining("not UTF-8 text: byte 0xe9");
    assertThatThrownBy(() -> new ConfigLoader(env::get).load(file)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("not UTF-8 text");
  }
}
