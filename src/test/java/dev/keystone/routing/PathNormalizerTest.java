package dev.keystone.routing;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class PathNormalizerTest {

  @ParameterizedTest
  @CsvSource(nullValues = "NULL", value = {
      "/a/b, /a/b",
      "/, /",
      "/a/./b, /a/b",
      "/a/../b, /b",
      "/acme/../beta/x, /beta/x",
      "/a/b/.., /a/",
      "/a/., /a/",
      "/a/%2e%2E/b, /b",
      "/a%2fb/c, /a%2fb/c",
      "/.., NULL",
      "/a/../../b, NULL",
      "relative, NULL",
      "/.hidden/file, /.hidden/file",
      "/a/b.txt, /a/b.txt",
  })
  void removesDotSegments(String in, String out) {
    assertThat(PathNormalizer.normalize(in)).isEqualTo(out);
  }
}
