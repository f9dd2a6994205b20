package dev.keystone.catalog;

import dev.keystone.engine.LocalLuaEngine;
import dev.keystone.script.LuaScript;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The repository's own catalog ({@code catalog/}, bundled in the jar): its index is what
 * {@code keystone scripts index catalog} writes from the entries (so no entry is published with a
 * stale SHA-256), and every entry's tests pass on its Lua script. (Versions in other languages:
 * CatalogEnginesTest, against the real engines.)
 */
class CatalogEntriesTest {

  @Test
  void theCommittedIndexIsTheOneTheEntriesMake() throws Exception {
    byte[] committed = Files.readAllBytes(CatalogFixture.REPOSITORY.resolve(CatalogIndex.FILE));
    String rebuilt = new String(IndexBuilder.build(CatalogFixture.REPOSITORY, null).toBytes());
    assertThat(new String(committed)).as("catalog/index.json is stale: run keystone scripts index catalog").isEqualTo(rebuilt);
    assertThat(CatalogIndex.parse("index", committed).entries()).extracting(CatalogIndex.Line::id).containsExactly(
        "api-key@1.0.0", "blue-green@1.0.0", "canary-header@1.0.0", "canary-percent@1.0.0", "geo-allowlist@1.0.0",
        "header-rewrite@1.0.0", "ip-allowlist@1.0.0", "maintenance@1.0.0", "rate-limit-header@1.0.0", "sticky-ab@1.0.0");
  }

  @TestFactory
  List<DynamicTest> everyEntryPassesItsTestsInLua() throws Exception {
    Catalog c = new Catalog(CatalogSource.open(CatalogFixture.REPOSITORY.toString()), null);
    List<DynamicTest> tests = new ArrayList<>();
    for (CatalogIndex.Line l : c.index().entries()) {
      tests.add(DynamicTest.dynamicTest(l.id(), () -> {
        Entry e = c.fetch(l.name(), l.version());
        assertThat(e.manifest().languages()).contains("lua");
        LuaScript s = LuaScript.compile(e.id(), e.id() + "/script.lua", e.script("lua"));
        List<EntryTests.Result> results = EntryTests.run(e, e.id(), new LocalLuaEngine(s), "catalog-test");
        assertThat(results).isNotEmpty();
        assertThat(results.stream().filter(r -> !r.passed()).map(EntryTests.Result::toString).toList()).isEmpty();
      }));
    }
    return tests;
  }

  @Test
  void aWrongExpectationFailsWithWhatDiffers() throws Exception {
    Entry e = new Catalog(CatalogSource.open(CatalogFixture.REPOSITORY.toString()), null).fetch("maintenance", "1.0.0");
    LuaScript s = LuaScript.compile(e.id(), "m.lua", e.script("lua").replace("p.retry_after", "p.retry_after + 1"));
    List<EntryTests.Result> failed = EntryTests.run(e, e.id(), new LocalLuaEngine(s), "t").stream().filter(r -> !r.passed()).toList();
    assertThat(failed).extracting(EntryTests.Result::toString).containsExactly(
        "FAIL everyone gets the page, the bypass goes through #1: decide: headers.Retry-After: expected 600, got 601 (answer: "
            + "{\"version\":1,\"decision\":\"respond\",\"status\":503,\"body\":\"down for maintenance, back soon\\n\",\"headers\":"
            + "{\"Retry-After\":\"601\",\"Content-Type\":\"text/plain\"}})",
        "FAIL status, message and retry-after set #1: decide: headers.Retry-After: expected 30, got 31 (answer: "
            + "{\"version\":1,\"decision\":\"respond\",\"status\":502,\"body\":\"upgrade\",\"headers\":"
            + "{\"Retry-After\":\"31\",\"Content-Type\":\"text/plain\"}})");
  }
}
