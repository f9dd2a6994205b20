package dev.keystone.app;

import dev.keystone.catalog.CatalogFixture;
import dev.keystone.catalog.LockFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code keystone scripts ...} on real directories: the bundled catalog, catalogs made from its
 * entries (changed, re-versioned, signed), and a project directory with its lock file.
 */
class ScriptsCommandTest {

  @TempDir
  Path project;
  @TempDir
  Path catalog;

  final Map<String, String> env = new HashMap<>();
  String out;
  String err;

  int run(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = new ScriptsCommand(new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8),
        env::get, new LuaEntryTests()).run(args);
    out = o.toString(StandardCharsets.UTF_8);
    err = e.toString(StandardCharsets.UTF_8);
    return code;
  }

  LockFile lock() throws Exception {
    return LockFile.read(project);
  }

  @Test
  void searchAndShowUseTheBundledCatalog() {
    assertThat(run("search", "rate")).isZero();
    assertThat(out).startsWith("rate-limit-header        1.0.0    js,lua,py ");
    assertThat(out.lines().count()).isEqualTo(1);
    assertThat(run("search")).isZero();
    assertThat(out.lines().map(l -> l.split("\\s+")[0]).toList()).containsExactly("api-key", "blue-green", "canary-header",
        "canary-percent", "geo-allowlist", "header-rewrite", "ip-allowlist", "maintenance", "rate-limit-header", "sticky-ab");
    assertThat(run("show", "ip-allowlist@1.0.0")).isZero();
    assertThat(out).contains("ip-allowlist@1.0.0  IP allow-list").contains("licence:   Apache-2.0").contains("\"required\" : [ \"allow\" ]");
    assertThat(run("show", "nope")).isEqualTo(1);
    assertThat(err).contains("no entry nope in catalog builtin");
  }

  @Test
  void addTestsAndPinsAnEntryAndVerifyFindsItChanged() throws Exception {
    assertThat(run("add", "rate-limit-header", "--dir", project.toString())).as(err).isZero();
    assertThat(out).contains("installed rate-limit-header@1.0.0 (sha256 ");
    LockFile.Pinned p = lock().scripts().get("rate-limit-header");
    assertThat(p.version()).isEqualTo("1.0.0");
    assertThat(p.catalog()).isEqualTo("builtin");
    assertThat(p.sha256()).isEqualTo(new dev.keystone.catalog.Catalog(dev.keystone.catalog.CatalogSource.open("builtin"), null)
        .index().find("rate-limit-header", "1.0.0").sha256());
    Path installed = project.resolve("catalog-scripts/rate-limit-header@1.0.0");
    assertThat(installed.resolve("script.lua")).exists();
    assertThat(run("add", "rate-limit-header", "--dir", project.toString())).isEqualTo(1);
    assertThat(err).contains("rate-limit-header@1.0.0 is installed already: use keystone scripts update rate-limit-header");

    assertThat(run("verify", "--dir", project.toString())).isZero();
    assertThat(out).contains("ok   rate-limit-header@1.0.0 sha256 " + p.sha256());
    Files.writeString(installed.resolve("script.lua"), Files.readString(installed.resolve("script.lua")).replace("n > p.limit", "false"));
    assertThat(run("verify", "--dir", project.toString())).isEqualTo(1);
    assertThat(out).contains("FAIL rate-limit-header: rate-limit-header@1.0.0: content does not match its SHA-256");
  }

  @Test
  void updateShowsTheDiffAndInstallsOnlyWithYes() throws Exception {
    CatalogFixture.copy(catalog, "maintenance/1.0.0");
    env.put("KEYSTONE_CATALOG", catalog.toString());
    assertThat(run("add", "maintenance@1.0.0", "--dir", project.toString())).as(err).isZero();
    CatalogFixture.newVersion(catalog, "maintenance", "1.0.0", "1.1.0", s -> s.replace("tostring(p.retry_after)", "string.format(\"%d\", p.retry_after)"));
    env.remove("KEYSTONE_CATALOG"); // update goes back to the catalog the entry came from (the lock file says)
    assertThat(run("update", "maintenance", "--dir", project.toString())).as(err).isZero();
    assertThat(out).contains("update maintenance@1.0.0 -> maintenance@1.1.0")
        .contains("--- a/entry.json").contains("-  \"version\": \"1.0.0\",").contains("+  \"version\": \"1.1.0\",")
        .contains("--- a/script.lua").contains("-  return respond(p.status, p.message, { [\"Retry-After\"] = tostring(p.retry_after), [\"Content-Type\"] = \"text/plain\" })")
        .contains("+  return respond(p.status, p.message, { [\"Retry-After\"] = string.format(\"%d\", p.retry_after), [\"Content-Type\"] = \"text/plain\" })")
        .contains("not installed: run again with --yes to install maintenance@1.1.0")
        .doesNotContain("tests.json");
    assertThat(lock().scripts().get("maintenance").version()).isEqualTo("1.0.0");
    assertThat(run("update", "maintenance", "--yes", "--dir", project.toString())).as(err).isZero();
    assertThat(lock().scripts().get("maintenance").version()).isEqualTo("1.1.0");
    assertThat(project.resolve("catalog-scripts/maintenance@1.1.0/script.lua")).exists();
    assertThat(project.resolve("catalog-scripts/maintenance@1.0.0")).doesNotExist();
    assertThat(run("update", "maintenance", "--dir", project.toString())).isZero();
    assertThat(out).contains("maintenance@1.1.0 is up to date");
  }

  @Test
  void anEntryWhoseTestsFailIsNotInstalled() throws Exception {
    CatalogFixture.copy(catalog, "maintenance/1.0.0");
    CatalogFixture.newVersion(catalog, "maintenance", "1.0.0", "1.0.1", s -> s.replace("if req.headers[p.bypass_header] == p.bypass_value", "if true"));
    assertThat(run("add", "maintenance@1.0.1", "--catalog", catalog.toString(), "--dir", project.toString())).isEqualTo(1);
    assertThat(out).contains("FAIL everyone gets the page, the bypass goes through #1: decide: decision: expected respond, got continue");
    assertThat(err).contains("maintenance@1.0.1: 3 of its tests failed: not installed");
    assertThat(lock().scripts()).isEmpty();
    assertThat(project.resolve("catalog-scripts")).doesNotExist();
  }

  @Test
  void removeIsRefusedWhileTheConfigUsesTheEntry() throws Exception {
    assertThat(run("add", "geo-allowlist", "--dir", project.toString())).isZero();
    Files.writeString(project.resolve("keystone.yaml"), """
        tenants:
          - name: shop
            script: { catalog: "geo-allowlist@1.0.0", params: { countries: [DE] } }
            services: [{ name: a, url: "http://127.0.0.1:1" }]
        """);
    assertThat(run("remove", "geo-allowlist", "--dir", project.toString())).isEqualTo(1);
    assertThat(err).contains("keystone.yaml uses geo-allowlist").contains("--force removes it anyway");
    assertThat(lock().scripts()).containsKey("geo-allowlist");
    assertThat(run("remove", "geo-allowlist", "--force", "--dir", project.toString())).isZero();
    assertThat(lock().scripts()).isEmpty();
    assertThat(project.resolve("catalog-scripts/geo-allowlist@1.0.0")).doesNotExist();
    assertThat(run("remove", "geo-allowlist", "--dir", project.toString())).isEqualTo(1);
    assertThat(err).contains("geo-allowlist is not installed");
  }

  @Test
  void signedEntriesNeedTheKeyToInstallAndToUpdate() throws Exception {
    CatalogFixture.copy(catalog, "maintenance/1.0.0");
    KeyPair key = CatalogFixture.ed25519();
    CatalogFixture.index(catalog, key.getPrivate());
    Path pub = Files.writeString(project.resolve("catalog.pub"), CatalogFixture.pem(key.getPublic(), "PUBLIC KEY"));
    Path wrong = Files.writeString(project.resolve("wrong.pub"), CatalogFixture.pem(CatalogFixture.ed25519().getPublic(), "PUBLIC KEY"));
    assertThat(run("add", "maintenance", "--catalog", catalog.toString(), "--public-key", wrong.toString(), "--dir", project.toString()))
        .isEqualTo(1);
    assertThat(err).contains("maintenance@1.0.0: the signature does not verify with the configured public key: refused");
    assertThat(run("add", "maintenance", "--catalog", catalog.toString(), "--public-key", pub.toString(), "--dir", project.toString()))
        .as(err).isZero();
    assertThat(out).contains("signature verified");
    assertThat(lock().scripts().get("maintenance").signed()).isTrue();
    CatalogFixture.newVersion(catalog, "maintenance", "1.0.0", "1.0.2", s -> s + "\n");
    assertThat(run("update", "maintenance", "--yes", "--dir", project.toString())).isEqualTo(1);
    assertThat(err).contains("maintenance@1.0.0 was installed signed: give its catalog's --public-key to update it");
    // the new version is not signed (index written without the key): refused with the key too
    assertThat(run("update", "maintenance", "--yes", "--public-key", pub.toString(), "--dir", project.toString())).isEqualTo(1);
    assertThat(err).contains("maintenance@1.0.2: not signed");
    assertThat(lock().scripts().get("maintenance").version()).isEqualTo("1.0.0");
  }

  @Test
  void verifyAllChecksEveryEntryOfACatalog() throws Exception {
    assertThat(run("verify", "--all")).as(out).isZero();
    assertThat(out.lines().filter(l -> l.startsWith("ok   ")).count()).isEqualTo(10);
    CatalogFixture.copy(catalog, "maintenance/1.0.0", "api-key/1.0.0");
    Path t = catalog.resolve("api-key/1.0.0/script.lua");
    Files.writeString(t, Files.readString(t) + "\n");
    assertThat(run("verify", "--all", "--catalog", catalog.toString())).isEqualTo(1);
    assertThat(out.lines().toList()).containsExactly(
        "FAIL api-key@1.0.0: api-key@1.0.0: content does not match its SHA-256 (expected "
            + out.lines().findFirst().orElseThrow().replaceAll(".*expected ([0-9a-f]{64}).*", "$1") + ", the files hash to "
            + out.lines().findFirst().orElseThrow().replaceAll(".*hash to ([0-9a-f]{64}).*", "$1")
            + "): the entry was changed after it was published or installed",
        "ok   maintenance@1.0.0");
  }

  @Test
  void badUsageExitsTwo() {
    assertThat(run()).isEqualTo(2);
    assertThat(run("add")).isEqualTo(2);
    assertThat(err).contains("expected: keystone scripts add NAME[@VERSION]");
    assertThat(run("frobnicate")).isEqualTo(2);
    assertThat(run("search", "--catalog")).isEqualTo(2);
    assertThat(List.of(run("search", "--catalog", "ftp://x"))).containsExactly(1);
    assertThat(err).contains("a directory, an http(s):// URL or 'builtin' expected");
  }
}
