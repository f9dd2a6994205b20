package dev.keystone.config;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cached config is reused only while everything its parse read is unchanged, which holds only if
 * the binders read the environment and the disk through {@link ConfigInputs} (which records each
 * read). This fails on a config class that reads them another way.
 */
class ConfigInputsGuardTest {

  /** Reads of the outside world, in source text. */
  static final Pattern OUTSIDE = Pattern.compile(
      "\\bFiles\\.|System\\.getenv|System\\.getProperty|Runtime\\.getRuntime|toAbsolutePath|new File\\b|FileInputStream"
          + "|getResourceAsStream|Path\\.of\\(\"\"\\)");

  /**
   * Who may: the recorder, the cache itself, the reader of the config file (its size bound is a
   * share of the heap, which the cache key holds), the jar's own scripts (part of the build),
   * the writer of private files (it writes the cache's and ACME's files; it reads nothing), and
   * the keys file's editor (keystone keys and the admin API change the file; no parse reads
   * through it: the binder reads the file through ConfigInputs).
   */
  static final Map<String, Set<String>> ALLOWED = Map.of(
      "ConfigInputs.java", Set.of("*"),
      "ConfigCache.java", Set.of("*"),
      "PrivateFiles.java", Set.of("Files.", "FileOutputStream", "new File"),
      "ConfigText.java", Set.of("Files.", "FileInputStream", "new File", "Runtime.getRuntime"),
      "ScriptFiles.java", Set.of("getResourceAsStream"),
      "CodecStreams.java", Set.of("getResourceAsStream"),
      "KeysFile.java", Set.of("Files.", "toAbsolutePath"));

  @Test
  void configClassesReadTheOutsideOnlyThroughConfigInputs() throws IOException {
    List<String> found = new ArrayList<>();
    List<Path> sources;
    try (Stream<Path> s = Files.list(Path.of("src/main/java/dev/keystone/config"))) {
      sources = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
    }
    assertThat(sources).hasSizeGreaterThan(20);
    for (Path p : sources) {
      String name = p.getFileName().toString();
      Set<String> allowed = ALLOWED.getOrDefault(name, Set.of());
      List<String> lines = Files.readAllLines(p);
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).strip();
        if (line.startsWith("*") || line.startsWith("//") || line.startsWith("/*") || line.startsWith("import ")) {
          continue; // comments name these calls to explain why they are not made
        }
        Matcher m = OUTSIDE.matcher(line);
        while (m.find()) {
          String what = m.group().replace("\\b", "");
          if (!allowed.contains("*") && allowed.stream().noneMatch(what::startsWith)) {
            found.add(name + ":" + (i + 1) + ": " + line);
          }
        }
      }
    }
    assertThat(found).as("read through ConfigInputs instead (it records what a cached config depends on)").isEmpty();
  }

  @Test
  void theGuardSeesADirectRead() {
    assertThat(OUTSIDE.matcher("boolean d = Files.isDirectory(dir);").find()).isTrue();
    assertThat(OUTSIDE.matcher("String v = System.getenv(\"X\");").find()).isTrue();
    assertThat(OUTSIDE.matcher("Path cwd = Path.of(\"\").toAbsolutePath();").find()).isTrue();
  }
}
