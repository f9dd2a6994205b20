package dev.keystone.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fast YAML reader gives the full reader's tree for what configs are written in, and gives up
 * (null: the full reader reads it) on anything else. (Every config the other tests load is read
 * by both as well: {@code keystone.yaml.crosscheck}.)
 */
class YamlSubsetTest {

  private static YamlNode full(String text) {
    return new YamlReader("test.yaml", new ArrayList<>()).read(text);
  }

  private static void same(String text) {
    YamlNode fast = YamlSubset.read(text);
    assertThat(fast).as("read by the fast reader:\n" + text).isNotNull();
    assertThat(YamlSubset.sameTree(fast, full(text))).as(text + "\nfast: " + fast + "\nfull: " + full(text)).isTrue();
  }

  @Test
  void everyYamlFileOfTheProjectReadsTheSame() throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path root : List.of(Path.of("examples"), Path.of("../shared/compat"), Path.of("docs"))) {
      if (Files.isDirectory(root)) {
        try (Stream<Path> s = Files.walk(root)) {
          s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).forEach(files::add);
        }
      }
    }
    assertThat(files).isNotEmpty();
    for (Path f : files) {
      same(Files.readString(f));
    }
  }

  @Test
  void aLargeGeneratedConfigReadsTheSame() {
    StringBuilder sb = new StringBuilder("listen: 127.0.0.1:8080\ntenants:\n");
    for (int i = 0; i < 500; i++) {
      sb.append("  - name: t").append(i).append("\n    path_prefix: /t").append(i).append("/\n")
          .append("    domains: [\"t").append(i).append(".example.com\", t").append(i).append(".example.org]\n")
          .append("    services: [{ name: s, url: \"http://127.0.0.1:9000\", health: /health, labels: { v: 1 } }]\n");
    }
    same(sb.toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "a: 1\nb:\n  c: [1, 2, 'x y']\n  d: { e: f, g: \"h\\\"i\" }\n",
      "# top\nlist:\n- a\n- b: 1\n  c: 2\n-\n  d: 3\n- \n",
      "a: \nb: ~\nc: null\nd: Null\ne: ''\nf: \"\"\n",
      "a: don't # comment\nb: x#y\nc: 'it''s'   # more\n",
      "url: http://127.0.0.1:8080/x?y=z\nk: v:w\n",
      "a:\n  - x\n  - y\nb:\n- z\n",
      "\"quoted key\": 1\n'other': 2\nplain key: 3\n",
      "a: yes\nb: On\nc: 0x1F\nd: 1_000\ne: -1.5e3\nf: .inf\n",
      "a: [ ]\nb: { }\nc: [[1, 2], {x: [3]}]\n",
      "  indented: root\n  second: 2\n",
      "a: 1\r\nb: 2\r\n",
      "",
      "# only a comment\n",
      "just a scalar\n",
      "- 1\n- 2\n",
      "a: { x: }\n",
      "a: \"\\u00e9t\\u00e9\"\n",
  })
  void shapesConfigsUseReadTheSame(String text) {
    same(text);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "a: &x 1\nb: *x\n",
      "a: !!str 1\n",
      "a: |\n  line\n",
      "a: >\n  folded\n",
      "a: plain\n  continued\n",
      "a: [1,\n  2]\n",
      "a: \"two\n  lines\"\n",
      "---\na: 1\n",
      "a:\t1\n",
      "a: 1\na: 2\n",
      "? complex\n: key\n",
      "a: b: c\n",
      "a: 'unclosed\n",
      "a: \"\\x41\"\n",
      "a: [1, 2, ]\n",
      "a:\n  - x\n   - y\n",
      "a\u0085b: 1\n",
  })
  void anythingElseIsLeftToTheFullReader(String text) {
    assertThat(YamlSubset.read(text)).as(text).isNull();
  }

  /**
   * Differential fuzzing of the fast reader (attack f1): each input was read differently from
   * YAML (F1-1: a quote inside a plain value taken for a quoted string, hiding a comment; F1-2: a
   * lone CR, NEL, LS or PS in a comment, which break lines), accepted where YAML refuses it
   * (F1-3 forbidden characters in comments, F1-4 a sign in a \\u escape, F1-6 the \\/ escape,
   * F1-7 '?' in a flow, F1-8 nesting past 1000, F1-9 keys past 1024 characters), or thrown
   * (F1-5 a non-hex \\u escape, F1-8 deep flows). Failing first. The fast reader must give the
   * full reader's tree or give up, and give up whenever the full reader reports an error.
   */
  @ParameterizedTest
  @ValueSource(strings = {
      "a: x, 'y # z'", "- x - \"y # z\"", "x, 'y # z': 1", "a[' #'", "a- \" #\"",
      "a: 1 # x\rb: 2", "a: 1 # x\u0085b: 2", "a: 1 # x\u2028b: 2", "# c\rb: 2", "a: 1 #x\r\r\nb: 2",
      "a: 1 # \u0001", "#\u007f", "#\ufffe",
      "a: \"\\u+123\"", "a: \"\\u-123\"", "a: \"\\uZZZZ\"", "\"\\u:aa}\"", "a: \"\\/\"",
      "urls: [https://a.example.com/api?token=x]", "{a: b?}", "labels: { note: ok? }",
  })
  void attackF1InputsAreNeverReadDifferently(String text) {
    assertNeverDifferent(text);
  }

  @Test
  void deepOrLongInputsAreLeftToTheFullReader() {
    assertNeverDifferent("a: " + "[".repeat(1000) + "x" + "]".repeat(1000));
    assertNeverDifferent("[".repeat(10000));
    assertNeverDifferent("a: " + "[".repeat(10000) + "x" + "]".repeat(10000));
    StringBuilder deep = new StringBuilder();
    for (int i = 0; i < 1001; i++) {
      deep.append(" ".repeat(i)).append("k:\n");
    }
    assertNeverDifferent(deep.toString());
    assertNeverDifferent("- " + "k".repeat(1025) + ": 1");
    assertNeverDifferent("a:\n  " + "k".repeat(1025) + ": 1");
    assertNeverDifferent("{" + "k".repeat(1100) + ": 1}");
    assertNeverDifferent("a" + " ".repeat(1030) + ": 1\nb: 2");
    assertNeverDifferent("k: v\n".repeat(800_000));
  }

  private static void assertNeverDifferent(String text) {
    List<ConfigError> errors = new ArrayList<>();
    YamlNode full = new YamlReader("f.yaml", errors).read(text);
    YamlNode fast = YamlSubset.read(text);
    if (full == null || !errors.isEmpty()) {
      assertThat(fast).as("the full reader refuses it: %s", errors).isNull();
    } else if (fast != null) {
      assertThat(YamlSubset.sameTree(fast, full)).as("fast %s / full %s", fast, full).isTrue();
    }
  }

  /**
   * The full reader stopped after the root value and never looked at what followed (found by
   * attack f1, F1-9): {@code "a":b} read as the scalar {@code a}, and text after a complete
   * mapping was ignored. Failing first.
   */
  @ParameterizedTest
  @ValueSource(strings = {"\"a\":b", "a: 1\n]", "- x\n}", "a: 1\n---\nb: 2\n"})
  void contentAfterTheDocumentIsAnError(String text) {
    List<ConfigError> errors = new ArrayList<>();
    assertThat(new YamlReader("f.yaml", errors).read(text)).as(text).isNull();
    assertThat(errors).as(text).hasSize(1);
    assertThat(errors.get(0).toString()).contains("f.yaml");
  }
}
