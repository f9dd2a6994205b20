package dev.keystone.config;

import dev.keystone.catalog.CatalogException;
import dev.keystone.catalog.Entry;
import dev.keystone.catalog.Installed;
import dev.keystone.catalog.ParamsSchema;
import dev.keystone.model.CatalogScript;
import dev.keystone.script.LuaScript;
import io.vertx.core.json.JsonObject;

import java.nio.file.Path;

/**
 * A tenant's {@code script: {catalog: NAME@VERSION, params: {...}}}: the entry installed next to
 * the config ({@code keystone scripts add}), checked against the lock file's SHA-256 again, its
 * parameters checked against its schema, its Lua script compiled. Any of these failing rejects
 * the config (and a reload keeps the running one), naming the tenant's key.
 */
final class CatalogBinder {

  /** What the tenant runs: its script name ({@code NAME@VERSION}), the entry, and the compiled script (null when an engine runs it). */
  record Bound(String scriptName, CatalogScript catalog, LuaScript compiled) {
  }

  private CatalogBinder() {
  }

  /**
   * Null after reporting a problem. {@code isolated}: an engine the gateway supervises runs the
   * tenant's script (its own with {@code isolation: process}, or the shared one), given the entry's
   * version in {@code language} (lua, js or py) from the installed file; otherwise the Lua version
   * runs embedded.
   */
  static Bound bind(Section t, String configSource, Problems problems, boolean isolated) {
    Section s = t.section("script");
    if (s == null) {
      return null;
    }
    String ref = s.string("catalog", null);
    JsonObject params = s.json("params");
    String language = s.string("language", "lua");
    s.finish();
    if (ref == null) {
      problems.add(s.keyPath("catalog"), "missing: NAME@VERSION (or NAME) of a catalog script installed with keystone scripts add");
      return null;
    }
    int at = ref.indexOf('@');
    String name = at < 0 ? ref : ref.substring(0, at);
    String version = at < 0 ? null : ref.substring(at + 1);
    if (!name.matches("[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?") || (version != null && !version.matches("[0-9]+\\.[0-9]+\\.[0-9]+"))) {
      problems.add(s.keyPath("catalog"), "NAME@VERSION such as rate-limit@1.0.0 (or just NAME for the installed version), got '" + ref + "'");
      return null;
    }
    if (!dev.keystone.catalog.Manifest.LANGUAGES.contains(language)) {
      problems.add(s.keyPath("language"), "lua, js or py, got '" + language + "'");
      return null;
    }
    if (!isolated && !language.equals("lua")) {
      problems.add(s.keyPath("language"), "an entry's " + language + " version runs in an engine the gateway supervises "
          + "(lua_engine.supervise running a " + language + " engine, with script_engine: remote or isolation: process); "
          + "embedded, the gateway runs Lua");
      return null;
    }
    Path base = ScriptFiles.baseDir(configSource, problems.inputs);
    Installed installed = new Installed(base, (file, max) -> problems.inputs.read(file, max));
    Entry e;
    try {
      e = installed.read(name, version);
    } catch (CatalogException x) {
      problems.add(s.keyPath("catalog"), x.getMessage());
      return null;
    }
    dev.keystone.catalog.LockFile.Pinned pinned;
    try {
      pinned = installed.lock().scripts().get(name);
    } catch (CatalogException x) {
      problems.add(s.keyPath("catalog"), x.getMessage());
      return null;
    }
    if (e.script(language) != null && !pinned.tested().contains(language)) {
      // only a version that passed the entry's tests here runs (attack s17, F1: an untested
      // JavaScript version did something else than the tested Lua one)
      problems.add(s.keyPath(language.equals("lua") ? "catalog" : "language"), e.id() + ": its " + language
          + " version has not passed the entry's tests here (tested: " + (pinned.tested().isEmpty() ? "none" : String.join(", ", pinned.tested()))
          + "): keystone scripts verify " + name + (language.equals("lua") ? "" : " --engine " + language + "=COMMAND"));
      return null;
    }
    String source = e.script(language);
    if (source == null) {
      problems.add(s.keyPath(isolated ? "language" : "catalog"), e.id() + " is offered in " + e.manifest().languages()
          + ", not in " + language + (isolated ? "" : ", which the gateway runs embedded"));
      return null;
    }
    JsonObject checked;
    try {
      checked = ParamsSchema.check(e.manifest(), params);
    } catch (CatalogException x) {
      problems.add(s.keyPath("params"), e.id() + ": " + x.getMessage());
      return null;
    }
    String file = installed.dir(e.manifest().name(), e.manifest().version()).resolve(e.manifest().scripts().get(language)).toString();
    LuaScript compiled = null;
    if (!isolated) {
      try {
        compiled = LuaScript.compile(e.id(), file, source);
      } catch (LuaScript.SyntaxError x) {
        problems.add(s.keyPath("catalog"), "script does not compile: " + x.getMessage());
        return null;
      }
    }
    return new Bound(e.id(), new CatalogScript(e.manifest().name(), e.manifest().version(), e.sha256(), e.signed(),
        checked.encode(), language, file, dev.keystone.catalog.Digest.sha256(e.files().get(e.manifest().scripts().get(language)))),
        compiled);
  }
}
