package dev.keystone.app;

import dev.keystone.catalog.CatalogException;
import dev.keystone.catalog.Entry;
import dev.keystone.catalog.EntryTests;
import dev.keystone.engine.LocalLuaEngine;
import dev.keystone.script.LuaScript;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * An entry's tests run on its Lua script in this process, as {@code keystone scripts add|verify}
 * does before it installs or approves anything. Versions in other languages are tested against
 * their engines (CatalogEntriesTest in the repository; docs/catalog.md).
 */
final class LuaEntryTests implements ScriptsCommand.CatalogTests {

  @Override
  public List<String> run(Entry e, PrintStream out) throws CatalogException {
    String lua = e.script("lua");
    if (lua == null) {
      out.println("  " + e.id() + " has no Lua version: its tests (" + String.join(", ", e.manifest().languages())
          + ") run in the engines, not here");
      return List.of();
    }
    LuaScript script;
    try {
      script = LuaScript.compile(e.id(), e.id() + "/" + e.manifest().scripts().get("lua"), lua);
    } catch (LuaScript.SyntaxError x) {
      return List.of("does not compile: " + x.getMessage());
    }
    List<String> failed = new ArrayList<>();
    for (EntryTests.Result r : EntryTests.run(e, e.id(), new LocalLuaEngine(script), "verify")) {
      if (!r.passed()) {
        out.println("  " + r);
        failed.add(r.toString());
      }
    }
    return failed;
  }
}
