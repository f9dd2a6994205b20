package dev.keystone.config;

import java.nio.file.Path;
import java.util.List;

/** Binds the {@code lua_engine} block, with its {@code supervise} part. */
final class LuaEngineBinder {

  private LuaEngineBinder() {
  }

  static LuaEngineConfig bind(Section s, String source, ScriptFiles scripts) {
    if (s == null) {
      return LuaEngineConfig.DISABLED;
    }
    LuaEngineConfig c = new LuaEngineConfig(
        s.bool("enabled", false),
        s.strings("url"), // one address, or a list of engines to spread calls over
        s.duration("timeout", LuaEngineConfig.DISABLED.timeout()),
        bindSupervise(s.section("supervise"), source, scripts));
    if (c.supervise() != null && !c.enabled()) {
      s.problems().add(s.keyPath("enabled"), "supervise needs enabled: true");
    }
    if (c.supervise() != null && !c.urls().isEmpty()) {
      s.problems().add(s.keyPath("url"), "not used with supervise: the gateway gives its engine a socket of its own");
    }
    s.finish();
    return c;
  }

  private static SupervisedEngine bindSupervise(Section s, String source, ScriptFiles scripts) {
    if (s == null) {
      return null;
    }
    List<String> command = s.strings("command");
    if (!command.isEmpty() && command.get(0).isBlank()) {
      s.problems().add(s.keyPath("command"), "the first item must be a program");
    }
    Path dir = s.has("scripts")
        ? new ScriptFiles(source, s.string("scripts", ""), s.problems()).dir() : scripts.dir();
    if (dir == null) {
      s.problems().add(s.keyPath("scripts"), "a supervised engine needs its scripts in a directory on disk, not classpath:");
    } else if (!s.problems().inputs.isDirectory(dir)) {
      s.problems().add(s.keyPath("scripts"), "no such directory: " + dir);
    }
    SupervisedEngine.Sandbox sandbox = s.parsed("sandbox", SupervisedEngine.Sandbox.AUTO, "auto, bubblewrap or none",
        v -> switch (v) {
          case "auto" -> SupervisedEngine.Sandbox.AUTO;
          case "bubblewrap" -> SupervisedEngine.Sandbox.BUBBLEWRAP;
          case "none" -> SupervisedEngine.Sandbox.NONE;
          default -> throw new IllegalArgumentException("expected auto, bubblewrap or none, got '" + v + "'");
        });
    long memory = s.size("memory", 256L * 1024 * 1024); // a JVM engine under load: 130-140 MiB resident
    if (memory < 32L * 1024 * 1024 || memory > 64L * 1024 * 1024 * 1024) {
      s.problems().add(s.keyPath("memory"), "must be between 32MB and 64GB");
    }
    long cpus = s.integer("cpus", 1);
    if (cpus < 1 || cpus > 1024) {
      s.problems().add(s.keyPath("cpus"), "must be between 1 and 1024");
    }
    long processes = s.integer("max_processes", 128);
    if (processes < 16 || processes > 100_000) {
      s.problems().add(s.keyPath("max_processes"), "must be between 16 and 100000 (a JVM needs a few dozen threads)");
    }
    s.finish();
    return new SupervisedEngine(command, dir, sandbox, memory, (int) cpus, (int) processes);
  }
}
