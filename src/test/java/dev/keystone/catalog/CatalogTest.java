package dev.keystone.catalog;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Fetching from a catalog: an entry is installed only as published: any changed file, a manifest
 * swapped for another entry's, a forged or moved signature, a path out of the catalog or an
 * oversized file is refused, from a directory and over HTTP alike.
 */
class CatalogTest {

  @TempDir
  Path dir;

  private Catalog open(java.security.PublicKey key) throws CatalogException {
    return new Catalog(CatalogSource.open(dir.toString()), key);
  }

  @Test
  void anEntryIsFetchedWithItsFilesAndTheirSha256() throws Exception {
    CatalogFixture.copy(dir, "rate-limit-header/1.0.0");
    Entry e = open(null).fetch("rate-limit-header", null);
    assertThat(e.id()).isEqualTo("rate-limit-header@1.0.0");
    assertThat(e.files().keySet()).containsExactly("entry.json", "script.js", "script.lua", "script.py", "tests.json");
    assertThat(e.signed()).isFalse();
    // the SHA-256 is sha256sum's listing of the files, hashed: checkable without Keystone
    Process p = new ProcessBuilder("sh", "-c", "sha256sum entry.json script.js script.lua script.py tests.json | sha256sum")
        .directory(dir.resolve("rate-limit-header/1.0.0").toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).isZero();
    assertThat(out.substring(0, 64)).isEqualTo(e.sha256());
    assertThat(open(null).index().find("rate-limit-header", "1.0.0").sha256()).isEqualTo(e.sha256());
  }

  @Test
  void aFileChangedAfterPublishingIsRefused() throws Exception {
    CatalogFixture.copy(dir, "rate-limit-header/1.0.0");
    Path script = dir.resolve("rate-limit-header/1.0.0/script.lua");
    Files.writeString(script, Files.readString(script).replace("if n > p.limit then", "if false then"));
    assertThatThrownBy(() -> open(null).fetch("rate-limit-header", "1.0.0")).isInstanceOf(CatalogException.class)
        .hasMessageContaining("rate-limit-header@1.0.0: content does not match its SHA-256");
    // the tests file is content too
    CatalogFixture.index(dir, null);
    Path tests = dir.resolve("rate-limit-header/1.0.0/tests.json");
    Files.writeString(tests, Files.readString(tests) + " ");
    assertThatThrownBy(() -> open(null).fetch("rate-limit-header", "1.0.0")).hasMessageContaining("does not match its SHA-256");
  }

  @Test
  void aManifestOfAnotherEntryIsRefused() throws Exception {
    CatalogFixture.copy(dir, "rate-limit-header/1.0.0", "maintenance/1.0.0");
    Path m = dir.resolve("maintenance/1.0.0/entry.json");
    Files.writeString(m, Files.readString(dir.resolve("rate-limit-header/1.0.0/entry.json")));
    assertThatThrownBy(() -> open(null).fetch("maintenance", "1.0.0"))
        .hasMessageContaining("is rate-limit-header@1.0.0, the index says maintenance@1.0.0");
  }

  @Test
  void withAPublicKeyOnlyEntriesItSignedAreFetched() throws Exception {
    CatalogFixture.copy(dir, "rate-limit-header/1.0.0", "maintenance/1.0.0");
    KeyPair key = CatalogFixture.ed25519();
    KeyPair other = CatalogFixture.ed25519();
    // unsigned index: refused once a key is configured
    assertThatThrownBy(() -> open(key.getPublic()).fetch("maintenance", null)).hasMessageContaining("not signed");
    CatalogFixture.index(dir, key.getPrivate());
    Entry e = open(key.getPublic()).fetch("maintenance", null);
    assertThat(e.signed()).isTrue();
    assertThatThrownBy(() -> open(other.getPublic()).fetch("maintenance", null))
        .hasMessageContaining("maintenance@1.0.0: the signature does not verify with the configured public key");
    // a signature moved from one entry to another does not verify
    String index = Files.readString(dir.resolve("index.json"));
    CatalogIndex parsed = CatalogIndex.parse("i", index.getBytes(StandardCharsets.UTF_8));
    String sigA = parsed.find("maintenance", "1.0.0").signature();
    String sigB = parsed.find("rate-limit-header", "1.0.0").signature();
    Files.writeString(dir.resolve("index.json"), index.replace(sigB, sigA));
    assertThatThrownBy(() -> open(key.getPublic()).fetch("rate-limit-header", null)).hasMessageContaining("does not verify");
  }

  @Test
  void aTamperedEntryWithAnIndexLineRewrittenToMatchIsCaughtOnlyBySignatures() throws Exception {
    CatalogFixture.copy(dir, "rate-limit-header/1.0.0");
    KeyPair key = CatalogFixture.ed25519();
    CatalogFixture.index(dir, key.getPrivate());
    String signedIndex = Files.readString(dir.resolve("index.json"));
    Path script = dir.resolve("rate-limit-header/1.0.0/script.lua");
    Files.writeString(script, Files.readString(script).replace("if n > p.limit then", "if false then"));
    // the attacker rewrites the index's sha256 for the changed file (keeping the old signature)
    String newSha = IndexBuilder.build(dir, null).find("rate-limit-header", "1.0.0").sha256();
    String oldSha = CatalogIndex.parse("i", signedIndex.getBytes(StandardCharsets.UTF_8)).find("rate-limit-header", "1.0.0").sha256();
    Files.writeString(dir.resolve("index.json"), signedIndex.replace(oldSha, newSha));
    assertThat(open(null).fetch("rate-limit-header", null).sha256()).isEqualTo(newSha); // without a key: the index is the trust root
    assertThatThrownBy(() -> open(key.getPublic()).fetch("rate-limit-header", null)).hasMessageContaining("does not verify");
  }

  @Test
  void pathsOutOfTheCatalogAreRefused() throws Exception {
    CatalogFixture.copy(dir, "maintenance/1.0.0");
    String index = Files.readString(dir.resolve("index.json"));
    Files.writeString(dir.resolve("index.json"), index.replace("\"path\" : \"maintenance/1.0.0\"", "\"path\" : \"../maintenance/1.0.0\""));
    assertThatThrownBy(() -> open(null).index()).hasMessageContaining("path must be NAME/VERSION");
    CatalogFixture.index(dir, null);
    Path m = dir.resolve("maintenance/1.0.0/entry.json");
    Files.writeString(m, Files.readString(m).replace("\"script.lua\"", "\"../../../etc/passwd\""));
    assertThatThrownBy(() -> Manifest.parse("m", Files.readAllBytes(m))).hasMessageContaining("scripts.lua: a file name in the entry's directory");
    // a symbolic link inside an entry that leads out of the catalog
    Files.writeString(m, Files.readString(m).replace("\"../../../etc/passwd\"", "\"script.lua\""));
    Path outside = Files.writeString(dir.getParent().resolve("outside-" + System.nanoTime() + ".lua"), "function on_request(req) end");
    try {
      Path script = dir.resolve("maintenance/1.0.0/script.lua");
      Files.delete(script);
      Files.createSymbolicLink(script, outside);
      assertThatThrownBy(() -> CatalogSource.open(dir.toString()).read("maintenance/1.0.0/script.lua", 1000))
          .hasMessageContaining("leads outside the catalog");
    } finally {
      Files.deleteIfExists(outside);
    }
  }

  @Test
  void overHttpTheSameChecksApplyAndReadsAreBounded() throws Exception {
    CatalogFixture.copy(dir, "rate-limit-header/1.0.0");
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/cat/", ex -> {
      Path f = dir.resolve(ex.getRequestURI().getPath().substring("/cat/".length()));
      byte[] body = Files.isRegularFile(f) ? Files.readAllBytes(f) : null;
      if (ex.getRequestURI().getPath().endsWith("/huge.txt")) {
        body = new byte[Entry.MAX_FILE + 10];
      }
      ex.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
      if (body != null) {
        ex.getResponseBody().write(body);
      }
      ex.close();
    });
    server.start();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/cat";
      Catalog c = new Catalog(CatalogSource.open(url), null);
      assertThat(c.index().search("rate").get(0).name()).isEqualTo("rate-limit-header");
      assertThat(c.fetch("rate-limit-header", "1.0.0").files()).hasSize(5);
      assertThatThrownBy(() -> CatalogSource.open(url).read("x/huge.txt", Entry.MAX_FILE)).hasMessageContaining("larger than");
      assertThatThrownBy(() -> CatalogSource.open(url).read("nope.json", 100)).hasMessageContaining("HTTP 404");
      Path script = dir.resolve("rate-limit-header/1.0.0/script.lua");
      Files.writeString(script, Files.readString(script) + "\n-- changed\n");
      assertThatThrownBy(() -> new Catalog(CatalogSource.open(url), null).fetch("rate-limit-header", "1.0.0"))
          .hasMessageContaining("does not match its SHA-256");
    } finally {
      server.stop(0);
    }
  }

  @Test
  void versionsCompareAsNumbersAndSearchShowsTheNewest() throws Exception {
    CatalogFixture.copy(dir, "maintenance/1.0.0");
    CatalogFixture.newVersion(dir, "maintenance", "1.0.0", "1.10.0", s -> s + "\n");
    CatalogFixture.newVersion(dir, "maintenance", "1.0.0", "1.9.0", s -> s + "\n\n");
    Catalog c = open(null);
    assertThat(c.index().versions("maintenance")).containsExactly("1.0.0", "1.9.0", "1.10.0");
    assertThat(c.fetch("maintenance", null).id()).isEqualTo("maintenance@1.10.0");
    assertThat(c.index().search("MAINTENANCE")).extracting(CatalogIndex.Line::version).containsExactly("1.10.0");
    assertThat(c.index().search("zzz")).isEmpty();
    assertThatThrownBy(() -> c.fetch("maintenance", "2.0.0")).hasMessageContaining("versions: [1.0.0, 1.9.0, 1.10.0]");
  }

  @Test
  void manifestsAreCheckedKeyByKey() {
    String good = """
        {"name": "x", "version": "1.0.0", "description": "d", "author": "a", "licence": "MIT",
         "scripts": {"lua": "s.lua"}, "tests": "t.json"}""";
    assertThat(List.of(good)).allSatisfy(g -> {
      try {
        assertThat(Manifest.parse("m", g.getBytes()).files()).containsExactly("entry.json", "s.lua", "t.json");
      } catch (CatalogException e) {
        throw new AssertionError(e);
      }
    });
    assertThatThrownBy(() -> Manifest.parse("m", good.replace("1.0.0", "1.0").getBytes())).hasMessageContaining("version: MAJOR.MINOR.PATCH");
    assertThatThrownBy(() -> Manifest.parse("m", good.replace("\"x\"", "\"X y\"").getBytes())).hasMessageContaining("name: lower-case");
    assertThatThrownBy(() -> Manifest.parse("m", good.replace("\"lua\"", "\"ruby\"").getBytes())).hasMessageContaining("unknown language 'ruby'");
    assertThatThrownBy(() -> Manifest.parse("m", good.replace("\"author\"", "\"writer\"").getBytes())).hasMessageContaining("author: required");
    assertThatThrownBy(() -> Manifest.parse("m", good.replace("\"t.json\"}", "\"t.json\", \"extra\": 1}").getBytes())).hasMessageContaining("unknown key 'extra'");
    assertThatThrownBy(() -> Manifest.parse("m", "[1]".getBytes())).hasMessageContaining("expected a JSON object");
  }
}
