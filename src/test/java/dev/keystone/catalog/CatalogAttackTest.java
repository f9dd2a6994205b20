package dev.keystone.catalog;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the attack on the catalog (session 17) found in fetching and reading entries, each failing
 * before its fix: F5 an HTTP body without end, F6 a fifo, F7 a CR hiding a line, F8 an index
 * line that says something else than its entry, F11 a script named for another language, F12 a
 * version listed twice.
 */
class CatalogAttackTest {

  @TempDir
  Path dir;

  @Test
  void anHttpCatalogThatStopsSendingIsCutOff() throws Exception {
    // F5: headers, then nothing: `scripts search` hung (killed at 100 s)
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    server.createContext("/", ex -> {
      ex.sendResponseHeaders(200, 1000);
      ex.getResponseBody().write("{\"catalog\"".getBytes());
      ex.getResponseBody().flush();
      try {
        release.await();
      } catch (InterruptedException ignored) {
        Thread.currentThread().interrupt();
      }
      ex.close();
    });
    server.start();
    try {
      CatalogSource slow = new CatalogSource.Http("http://127.0.0.1:" + server.getAddress().getPort() + "/", Duration.ofSeconds(2));
      assertThatThrownBy(() -> slow.read("index.json", 1000)).isInstanceOf(CatalogException.class)
          .hasMessageEndingWith("index.json: no whole answer within 2 s");
    } finally {
      release.countDown();
      server.stop(0);
    }
  }

  @Test
  void aFifoInADirectoryCatalogIsRefusedUnread() throws Exception {
    // F6: `scripts show` blocked on a named pipe in place of script.lua
    CatalogFixture.copy(dir, "maintenance/1.0.0");
    Path script = dir.resolve("maintenance/1.0.0/script.lua");
    Files.delete(script);
    Process mkfifo = new ProcessBuilder("mkfifo", script.toString()).start();
    assertThat(mkfifo.waitFor()).isZero();
    assertThatThrownBy(() -> new Catalog(CatalogSource.open(dir.toString()), null).fetch("maintenance", null))
        .hasMessageEndingWith("maintenance/1.0.0/script.lua: not a regular file");
  }

  @Test
  void aCarriageReturnOrAnEscapeInAnEntrysFilesIsRefused() throws Exception {
    // F7: "\r" hid an added line from the diff; Lua ran it (the gateway answered "owned")
    CatalogFixture.copy(dir, "maintenance/1.0.0");
    Path entry = dir.resolve("maintenance/1.0.0");
    String before = IndexBuilder.build(dir, null).find("maintenance", "1.0.0").sha256();
    Path script = entry.resolve("script.lua");
    Files.writeString(script, Files.readString(script).replace("function on_request(req)\n",
        "function on_request(req) if req.headers['X-K'] then return respond(200, 'owned') end\r-- nothing here\n"));
    assertThatThrownBy(() -> IndexBuilder.build(dir, null)) // a publisher cannot even index it
        .hasMessageContaining("maintenance@1.0.0: script.lua: a control character (U+000D) at offset");
    // nor can a forged index line with the new files' SHA-256 get it installed
    java.util.TreeMap<String, byte[]> files = new java.util.TreeMap<>();
    try (var list = Files.list(entry)) {
      for (Path f : list.toList()) {
        files.put(f.getFileName().toString(), Files.readAllBytes(f));
      }
    }
    Files.writeString(dir.resolve("index.json"), Files.readString(dir.resolve("index.json")).replace(before, Digest.of(files)));
    assertThatThrownBy(() -> new Catalog(CatalogSource.open(dir.toString()), null).fetch("maintenance", null))
        .hasMessageContaining("maintenance@1.0.0: script.lua: a control character (U+000D) at offset");
    assertThat(Diff.visible("a\rb\u001b[2Kc\u202ed")).isEqualTo("a\\x0db\\x1b[2Kc\\u202ed");
  }

  @Test
  void aLargeChangeIsShownWholeNotSummarised() {
    // F7: past 2,000 lines the diff said only "changed", and a backdoor line went unseen
    String before = "x\n".repeat(2100);
    String after = "x\n".repeat(1000) + "backdoor()\n" + "x\n".repeat(1100);
    var lines = Diff.of(new java.util.TreeMap<>(java.util.Map.of("s.lua", before.getBytes())),
        new java.util.TreeMap<>(java.util.Map.of("s.lua", after.getBytes())));
    assertThat(lines).contains("+backdoor()");
  }

  @Test
  void anIndexLineMustSayWhatItsEntrySays() throws Exception {
    // F8: search printed the index's description (unsigned), escape sequences included
    CatalogFixture.copy(dir, "maintenance/1.0.0");
    String index = Files.readString(dir.resolve("index.json"));
    Files.writeString(dir.resolve("index.json"), index.replace("\"description\" : \"Maintenance page:", "\"description\" : \"Audited and safe. Maintenance page:"));
    assertThatThrownBy(() -> new Catalog(CatalogSource.open(dir.toString()), null).fetch("maintenance", null))
        .hasMessage("maintenance@1.0.0: the index's description or languages differ from the entry's own: the index was changed after it was written");
    Files.writeString(dir.resolve("index.json"), index.replace("\"description\" : \"Maintenance page:", "\"description\" : \"\\u001b]0;pwned\\u0007Maintenance page:"));
    assertThatThrownBy(() -> new Catalog(CatalogSource.open(dir.toString()), null).index())
        .hasMessageContaining("entries[0]: a description of printable text");
  }

  @Test
  void aScriptNamedForAnotherLanguageAndADuplicateVersionAreRefused() throws Exception {
    // F11: scripts.js "scriptjs" crashed the start (StringIndexOutOfBounds); a JS file named .py ran in the Python engine
    String m = """
        {"name": "x", "version": "1.0.0", "description": "d", "author": "a", "licence": "MIT",
         "scripts": {"js": "%s"}, "tests": "t.json"}""";
    assertThatThrownBy(() -> Manifest.parse("m", m.formatted("scriptjs").getBytes()))
        .hasMessage("m: scripts.js: the file name must end in .js, got 'scriptjs'");
    assertThatThrownBy(() -> Manifest.parse("m", m.formatted("script.py").getBytes()))
        .hasMessage("m: scripts.js: the file name must end in .js, got 'script.py'");
    // F12: the same version listed twice (the first one won)
    CatalogFixture.copy(dir, "maintenance/1.0.0");
    String index = Files.readString(dir.resolve("index.json"));
    int open = index.indexOf('{', index.indexOf('['));
    int close = index.lastIndexOf('}', index.lastIndexOf(']'));
    String line = index.substring(open, close + 1);
    Files.writeString(dir.resolve("index.json"), index.replace(line, line + ", " + line));
    assertThatThrownBy(() -> new Catalog(CatalogSource.open(dir.toString()), null).index())
        .hasMessageContaining("entries[1]: maintenance@1.0.0 is listed twice");
  }
}
