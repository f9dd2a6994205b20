package dev.keystone.script;

import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.testing.GatewayProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Attack R5-T1 (Critical): nothing bounded a script file or the memory its compiled code keeps;
 * one tenant's 60 MB script, or ten 3 MB scripts of small functions (compiled code is several
 * times its source), ended the process in OutOfMemoryError at the next reload. Failing first:
 * both configs loaded. R5-T7: more than 200 locals failed the load with a bare
 * NullPointerException instead of naming the script.
 */
class ScriptSizeTest {

  private static String config(String... scripts) {
    StringBuilder sb = new StringBuilder("scripts_dir: s\ntenants:\n");
    for (int i = 0; i < scripts.length; i++) {
      sb.append("  - { name: t").append(i).append(", path_prefix: /t").append(i).append("/, lua_script: ")
          .append(scripts[i]).append(" }\n");
    }
    return sb.toString();
  }

  private static String loadError(Path dir, String yaml) throws Exception {
    Path file = dir.resolve("c.yaml");
    Files.writeString(file, yaml);
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> new ConfigLoader(k -> null).load(file));
    assertThat(e).as("the config must be refused").isNotNull();
    return e.getMessage();
  }

  /** About 1 MiB of one-line functions: compiled, it keeps about ten times that. */
  private static String functions(int count) {
    StringBuilder sb = new StringBuilder("F = {}\n");
    for (int i = 0; i < count; i++) {
      sb.append("F[").append(i).append("] = function() end\n");
    }
    return sb.append("function on_request(req) end\n").toString();
  }

  @Test
  void aScriptFileAboveOneMebibyteIsRefusedUnread(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("s"));
    String big = "-- " + "x".repeat(1024 * 1024) + "\nfunction on_request(req) end\n";
    Files.writeString(dir.resolve("s/big.lua"), big);
    Files.writeString(dir.resolve("s/ok.lua"), "function on_request(req) end\n");
    assertThat(loadError(dir, config("ok", "big")))
        .contains("c.yaml:4: tenants[1].lua_script: script does not compile: " + dir.resolve("s/big.lua")
            + ": " + big.length() + " bytes, above the limit of 1048576 (1 MiB) for a script");
  }

  @Test
  void tooManyLocalsIsASyntaxErrorNamingTheScript(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("s"));
    StringBuilder sb = new StringBuilder("function on_request(req)\n");
    for (int i = 0; i < 250; i++) {
      sb.append("  local v").append(i).append(" = ").append(i).append('\n');
    }
    Files.writeString(dir.resolve("s/locals.lua"), sb.append("end\n").toString());
    assertThat(loadError(dir, config("locals"))).contains("c.yaml:3: tenants[0].lua_script: script does not compile: "
        + dir.resolve("s/locals.lua"));
  }

  @Test
  void compiledScriptsTogetherAreBoundedByTheHeap(@TempDir Path dir) throws Exception {
    // A small heap (-Xmx64m: a bound of 4 MiB for compiled scripts, 1 MiB for one), as a
    // process: the bound is a share of the heap of the gateway that loads them.
    Files.createDirectories(dir.resolve("s"));
    Files.writeString(dir.resolve("s/big.lua"), functions(11_000)); // about 3.6 MiB compiled: under the bound
    Files.writeString(dir.resolve("s/table.lua"), functions(1_000)); // an ordinary one after it
    Files.writeString(dir.resolve("c.yaml"), config("big", "table"));
    GatewayProcess.Result r = GatewayProcess.run(dir, List.of("-Xmx64m"), "validate", dir.resolve("c.yaml").toString());
    assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
    // Attack R6-4: the big script is named, not the ordinary one after it. Failing first.
    assertThat(r.output()).containsPattern("c\\.yaml:3: tenants\\[0\\]\\.lua_script: script big keeps about \\d+ KiB compiled, "
        + "above the limit of 1024 KiB for one script").doesNotContain("tenants[1]");
    for (int i = 0; i < 5; i++) {
      Files.writeString(dir.resolve("s/mid" + i + ".lua"), functions(2_900)); // each about 950 KiB compiled: four fit, not five
    }
    Files.writeString(dir.resolve("c.yaml"), config("mid0", "mid1", "mid2", "mid3", "mid4"));
    r = GatewayProcess.run(dir, List.of("-Xmx64m"), "validate", dir.resolve("c.yaml").toString());
    assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
    assertThat(r.output()).containsPattern("c\\.yaml:7: tenants\\[4\\]\\.lua_script: script mid4 keeps about \\d+ KiB compiled, "
        + "and the scripts before it \\d+ KiB: above the bound of 4096 KiB for all scripts together \\(a sixteenth of the heap\\)");
  }
}
