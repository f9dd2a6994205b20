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
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        env::get, new EntryTestRunner()).run(args);
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
    List<String> verdicts = out.lines().filter(l -> l.startsWith("ok") || l.startsWith("FAIL")).toList();
    assertThat(verdicts).containsExactly(
        "FAIL api-key@1.0.0: api-key@1.0.0: content does not match its SHA-256 (expected "
            + verdicts.get(0).replaceAll(".*expected ([0-9a-f]{64}).*", "$1") + ", the files hash to "
            + verdicts.get(0).replaceAll(".*hash to ([0-9a-f]{64}).*", "$1")
            + "): the entry was changed after it was published or installed",
        "ok   maintenance@1.0.0; tested: lua");
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

  /** A catalog entry NAME@1.0.0 in {@code catalog} with these versions of its script. */
  private void entry(String name, String lua, String js) throws Exception {
    Path e = Files.createDirectories(catalog.resolve(name + "/1.0.0"));
    StringBuilder scripts = new StringBuilder();
    if (lua != null) {
      Files.writeString(e.resolve("script.lua"), lua);
      scripts.append("\"lua\": \"script.lua\"");
    }
    if (js != null) {
      Files.writeString(e.resolve("script.js"), js);
      scripts.append(scripts.length() > 0 ? ", " : "").append("\"js\": \"script.js\"");
    }
    Files.writeString(e.resolve("entry.json"), """
        { "name": "%s", "version": "1.0.0", "description": "d", "author": "a", "licence": "MIT",
          "scripts": { %s }, "params": { "type": "object" }, "tests": "tests.json" }
        """.formatted(name, scripts));
    Files.writeString(e.resolve("tests.json"), """
        { "tests": [ { "name": "answers ok", "requests": [ { "path": "/", "expect": { "decision": "respond", "status": 200, "body": "ok" } } ] } ] }
        """);
    CatalogFixture.index(catalog, null);
  }

  static final String NODE = "js=node " + Path.of("engines/node/engine.js").toAbsolutePath();

  @Test
  void aVersionThatCouldNotBeTestedHereIsNeitherInstalledAloneNorRun() throws Exception {
    // Failed before (attack s17, F1): a JavaScript-only entry whose test can never pass was
    // installed ("run in the engines, not here") and verify said ok; a tested Lua version next to
    // an untested JavaScript one let a tenant run the JavaScript.
    dev.keystone.testing.NodeEngine.ensureInstalled();
    entry("jsonly", null, "'use strict';\nfunction on_request(req) { return respond(200, 'ok'); }\n");
    entry("twoface", "function on_request(req) return respond(200, 'ok') end\n",
        "'use strict';\nfunction on_request(req) { return respond(200, 'hijacked'); }\n");
    String cat = catalog.toString();
    assertThat(run("add", "jsonly", "--catalog", cat, "--dir", project.toString())).isEqualTo(1);
    assertThat(err).contains("jsonly@1.0.0: none of its versions (js) could be tested here: not installed (give --engine LANG=COMMAND)");
    assertThat(lock().scripts()).isEmpty();
    assertThat(run("add", "jsonly", "--catalog", cat, "--engine", NODE, "--dir", project.toString())).as(out + err).isZero();
    assertThat(lock().scripts().get("jsonly").tested()).containsExactly("js");

    assertThat(run("add", "twoface", "--catalog", cat, "--dir", project.toString())).as(err).isZero();
    assertThat(out).contains("twoface@1.0.0: its js version was not tested (no --engine js=COMMAND): the gateway will not run it");
    assertThat(lock().scripts().get("twoface").tested()).containsExactly("lua");
    Files.writeString(project.resolve("keystone.yaml"), """
        lua_engine:
          enabled: true
          supervise: { command: [node, "%s"], sandbox: none, scripts: scripts }
        tenants:
          - name: shop
            path_prefix: /shop/
            isolation: process
            script: { catalog: twoface, language: js }
            services: [{ name: a, url: "http://127.0.0.1:1" }]
        """.formatted(Path.of("engines/node/engine.js").toAbsolutePath()));
    Files.createDirectories(project.resolve("scripts"));
    assertThatThrownBy(() -> new dev.keystone.config.ConfigLoader().load(project.resolve("keystone.yaml")))
        .hasMessageContaining("tenants[0].script.language: twoface@1.0.0: its js version has not passed the entry's tests here "
            + "(tested: lua): keystone scripts verify twoface --engine js=COMMAND");
    assertThat(run("verify", "twoface", "--engine", NODE, "--dir", project.toString())).isEqualTo(1);
    assertThat(out).contains("js: FAIL answers ok #1: decide: body: expected ok, got hijacked").contains("FAIL twoface@1.0.0 sha256 ");
    assertThat(lock().scripts().get("twoface").tested()).containsExactly("lua");
  }

  @Test
  void verifyOnAnEngineLetsThatVersionRun() throws Exception {
    dev.keystone.testing.NodeEngine.ensureInstalled();
    assertThat(run("add", "maintenance", "--dir", project.toString())).isZero();
    assertThat(lock().scripts().get("maintenance").tested()).containsExactly("lua");
    assertThat(run("verify", "maintenance", "--engine", NODE, "--dir", project.toString())).as(out).isZero();
    assertThat(out).contains("ok   maintenance@1.0.0 sha256 ").contains("; tested: js, lua");
    assertThat(lock().scripts().get("maintenance").tested()).containsExactly("js", "lua");
  }

  @Test
  void updateComesFromWhereTheEntryCameFromSignedByTheSameKeyAndNeverOlder() throws Exception {
    // Failed before (attack s17, F9): $KEYSTONE_CATALOG switched an installed entry to another
    // catalog, another key's signature was taken, and a replayed old index installed 1.0.0 over 1.1.0.
    CatalogFixture.copy(catalog, "maintenance/1.0.0");
    CatalogFixture.newVersion(catalog, "maintenance", "1.0.0", "1.1.0", s -> s + "\n");
    KeyPair key = CatalogFixture.ed25519();
    CatalogFixture.index(catalog, key.getPrivate());
    Path pub = Files.writeString(project.resolve("a.pub"), CatalogFixture.pem(key.getPublic(), "PUBLIC KEY"));
    assertThat(run("add", "maintenance", "--catalog", catalog.toString(), "--public-key", pub.toString(), "--dir", project.toString()))
        .as(err).isZero();
    LockFile.Pinned p = lock().scripts().get("maintenance");
    assertThat(p.version()).isEqualTo("1.1.0");
    assertThat(p.catalog()).isEqualTo(catalog.toAbsolutePath().toString());
    assertThat(p.key()).isEqualTo(dev.keystone.catalog.Signatures.fingerprint(key.getPublic()));

    Path other = Files.createTempDirectory(project, "other");
    CatalogFixture.copy(other, "maintenance/1.0.0");
    CatalogFixture.newVersion(other, "maintenance", "1.0.0", "1.2.0", s -> s + "\n\n");
    KeyPair otherKey = CatalogFixture.ed25519();
    CatalogFixture.index(other, otherKey.getPrivate());
    Path otherPub = Files.writeString(project.resolve("b.pub"), CatalogFixture.pem(otherKey.getPublic(), "PUBLIC KEY"));
    env.put("KEYSTONE_CATALOG", other.toString());
    assertThat(run("update", "maintenance", "--yes", "--public-key", pub.toString(), "--dir", project.toString())).isZero();
    assertThat(out).contains("maintenance@1.1.0 is up to date"); // from its own catalog, not $KEYSTONE_CATALOG's 1.2.0
    assertThat(run("update", "maintenance", "--yes", "--catalog", other.toString(), "--public-key", otherPub.toString(),
        "--dir", project.toString())).isEqualTo(1);
    assertThat(err).contains("maintenance@1.1.0 was installed signed by the key " + p.key() + ", this public key is "
        + dev.keystone.catalog.Signatures.fingerprint(otherKey.getPublic()) + ": refused");
    assertThat(run("update", "maintenance@1.0.0", "--yes", "--public-key", pub.toString(), "--dir", project.toString())).isEqualTo(1);
    assertThat(err).contains("maintenance@1.0.0 is older than the installed maintenance@1.1.0: refused");
    assertThat(run("update", "maintenance@1.0.0", "--yes", "--allow-downgrade", "--public-key", pub.toString(),
        "--dir", project.toString())).as(err).isZero();
    assertThat(lock().scripts().get("maintenance").version()).isEqualTo("1.0.0");
  }
}
