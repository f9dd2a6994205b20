package dev.keystone.script;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Paths a script may set: never one that leaves the service's base path on a backend that
 * decodes the whole target before it splits off the query, or stops at a NUL (attack R5-T6:
 * these were forwarded). Failing first for every refused one.
 */
class EditRulesTest {

  @ParameterizedTest
  @ValueSource(strings = {"/%2e%2e%3f", "/%2e%2e%23", "/..%3Fx", "/..%00/x", "/a/%01b", "/%252e%252e/x", "/%c0%ae%c0%ae/x",
      "/x/%252E./y"})
  void pathsThatDecodeToADotSegmentAreRefused(String path) {
    assertThat(EditRules.pathProblem(path)).as(path).isNotNull();
  }

  /**
   * Left over from round 6: "..;" written %3b (Tomcat and Spring read "/..;/x" as "/../x"),
   * a NUL encoded twice, and the dots and slashes that Unicode-normalizing or lax UTF-8 backends
   * read as '.' and '/': fullwidth (U+FF0E, U+FF0F) and overlong (%c0%af). Failing first.
   */
  @ParameterizedTest
  @ValueSource(strings = {"/..%3b/x", "/..%3B/x", "/..%253b/x", "/a/%2500/x", "/a/%251f", "/%ef%bc%8e%ef%bc%8e/x",
      "/a%ef%bc%8f..%ef%bc%8fx", "/a%c0%af../x", "/a%e0%80%af..%e0%80%afb"})
  void pathsThatBackendsReadAsDotSegmentsOrControlsAreRefused(String path) {
    assertThat(EditRules.pathProblem(path)).as(path).isNotNull();
  }

  /**
   * Attack on the Node engine, round 4 (N4-6): more encodings than any list held. The path is now
   * read as decoders read it, again and again. Failing first for every one.
   */
  @ParameterizedTest
  @ValueSource(strings = {"/..%c1%9cx", "/..%e0%81%9cx", "/%2e%2e%255cx", "/%25%32%65%25%32%65/x", "/%25252e%25252e/x",
      "/%f0%80%80%ae%f0%80%80%ae/x", "/%25c0%25ae%25c0%25ae/x", "/%25ef%25bc%258e%25ef%25bc%258e/x", "/a/%252500", "/%e2%80%a5/x",
      "/a%ef%bc%bc..%ef%bc%bcb",
      // round 5 (N5-3): 5- and 6-byte overlong dots, a fullwidth percent sign, a trailing space, a C1 control
      "/%f8%80%80%80%ae%f8%80%80%80%ae/x", "/%fc%80%80%80%80%ae%fc%80%80%80%80%ae/x", "/%ef%bc%852e%ef%bc%852e/x",
      "/..%20/x", "/a%c2%85b"})
  void pathsThatDecodeToADotSegmentInAnyNumberOfReadingsAreRefused(String path) {
    assertThat(EditRules.pathProblem(path)).as(path).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"/a/b%3Fc", "/a/..b/c", "/a/%2e%2ex", "/v1/%25/x", "/a%23b", "/a/%2520/x", "/a/b%3bc", "/%ef%bc%8ex", "/caf%c3%a9/x", "/%e2%82%ac", "/a/%25/%2525/b"})
  void ordinaryEncodedPathsPass(String path) {
    assertThat(EditRules.pathProblem(path)).as(path).isNull();
  }
}
