package dev.keystone.app;

import dev.keystone.policy.ApiKeyCodec;
import dev.keystone.testing.TestEtcd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code keystone keys create|revoke|list} on a keys file and on a real etcd. */
class KeysCommandTest {

  @TempDir
  Path dir;
  String out;
  String err;
  final Clock clock = Clock.fixed(Instant.parse("2026-12-07T10:00:00Z"), ZoneOffset.UTC);

  int run(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = new KeysCommand(new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8),
        Map.<String, String>of()::get, clock).run(args);
    out = o.toString(StandardCharsets.UTF_8);
    err = e.toString(StandardCharsets.UTF_8);
    return code;
  }

  @Test
  void keysInAFileAreStoredHashedListedAndRevoked() throws Exception {
    Path file = dir.resolve("keys.json");
    assertThat(run("create", "acme", "--tenant", "orders", "--scope", "orders:read", "--expires", "90d", "--file", file.toString()))
        .as(err).isZero();
    String key = out.trim();
    assertThat(key).matches("ks_[A-Za-z0-9_-]{43}");
    assertThat(err).contains("is shown only now");
    String content = Files.readString(file);
    assertThat(content).contains(ApiKeyCodec.sha256(key)).doesNotContain(key);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");

    assertThat(run("create", "acme", "--tenant", "orders", "--file", file.toString())).isEqualTo(1);
    assertThat(err).contains("a key named acme exists");
    assertThat(run("list", "--file", file.toString())).isZero();
    assertThat(out).isEqualTo("acme  tenants=orders  scopes=orders:read  created=2026-12-07T10:00:00Z  expires=2027-03-07T10:00:00Z\n");
    assertThat(run("revoke", "acme", "--file", file.toString())).isZero();
    assertThat(run("revoke", "acme", "--file", file.toString())).isEqualTo(1);
    assertThat(err).contains("no key named acme");
    assertThat(run("create", "x", "--file", file.toString())).isEqualTo(2);
    assertThat(err).contains("create needs --tenant");
    assertThat(run("create", "bad name", "--tenant", "a", "--file", file.toString())).isEqualTo(2);
    assertThat(run("list")).isEqualTo(2);
    assertThat(err).contains("--file FILE or --store");
  }

  @Test
  void keysInAStoreAreTakenOncePerName() {
    try (TestEtcd etcd = new TestEtcd(dir)) {
      String store = "etcd://" + etcd.endpoint().substring("http://".length()) + "/c";
      assertThat(run("create", "acme", "--tenant", "*", "--store", store)).as(err).isZero();
      assertThat(run("create", "acme", "--tenant", "*", "--store", store)).isEqualTo(1);
      assertThat(run("list", "--store", store)).isZero();
      assertThat(out).isEqualTo("acme  tenants=*  scopes=  created=2026-12-07T10:00:00Z\n");
      assertThat(run("revoke", "acme", "--store", store)).isZero();
      assertThat(run("list", "--store", store)).isZero();
      assertThat(out).isEmpty();
    }
  }
}
