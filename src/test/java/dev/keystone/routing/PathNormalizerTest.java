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
      // Attack round 4 (R4-6): what most servers read as the same path routes as it.
      "//admin/x, /admin/x",
      "/x/..//admin/y, /admin/y",
      "/%61dmin/x, /admin/x",
      "/%7Euser/%41-%5f, /~user/A-_",
      "/a//, /a/",
      "/a%2Fb/%25/%20, /a%2Fb/%25/%20",
  })
  void removesDotSegments(String in, String out) {
    assertThat(PathNormalizer.normalize(in)).isEqualTo(out);
  }
}
