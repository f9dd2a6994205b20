package dev.keystone.config;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The hand-written syntax checks accept exactly what the regular expressions they replaced accept. */
class ConfigSyntaxTest {

  /** The specification: the expressions ConfigValidator used. */
  private static final Pattern DOMAIN = Pattern.compile("(\\*\\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+");
  private static final Pattern PREFIX = Pattern.compile("/([A-Za-z0-9._~!$&'()*+,;=:@%-]+/)*");

  @Test
  void examples() {
    for (String ok : List.of("a.b", "app.example.com", "*.example.com", "x-1.y2.z", "0.0")) {
      assertThat(ConfigSyntax.validDomain(ok)).as(ok).isTrue();
    }
    for (String bad : List.of("", "a", "*.a", "*.", ".a.b", "a.b.", "a..b", "-a.b", "a-.b", "A.b", "a.b:80", "a b.c",
        "**.a.b", "a.*.b", "\u00e9.b")) {
      assertThat(ConfigSyntax.validDomain(bad)).as(bad).isFalse();
    }
    for (String ok : List.of("/", "/api/", "/a/b/", "/%41/", "/v1.2/~x/")) {
      assertThat(ConfigSyntax.validPathPrefix(ok)).as(ok).isTrue();
    }
    for (String bad : List.of("", "api/", "/api", "//", "/a//b/", "/a b/", "/a?/", "/a#/", "/\u00e9/")) {
      assertThat(ConfigSyntax.validPathPrefix(bad)).as(bad).isFalse();
    }
  }

  @Test
  void sameAnswersAsTheExpressionsOnGeneratedInput() {
    Random random = new Random(14);
    // tokens, so that valid values are common and invalid ones differ from them by little
    List<String> domainTokens = List.of("a", "b0", "z9", "-", ".", ".", "*.", "x-y", "Z", "_", " ", "\u00e9", "*");
    List<String> pathTokens = List.of("/", "/", "a", "Z9", ".", "~", "!$&'()*+,;=:@%-", "..", " ", "?", "#", "\u00e9", "\\", "\"");
    int validDomains = 0;
    int validPrefixes = 0;
    for (int i = 0; i < 200_000; i++) {
      String d = generate(random, domainTokens);
      boolean domain = DOMAIN.matcher(d).matches();
      assertThat(ConfigSyntax.validDomain(d)).as("domain '%s'", d).isEqualTo(domain);
      String p = generate(random, pathTokens);
      boolean prefix = PREFIX.matcher(p).matches();
      assertThat(ConfigSyntax.validPathPrefix(p)).as("prefix '%s'", p).isEqualTo(prefix);
      validDomains += domain ? 1 : 0;
      validPrefixes += prefix ? 1 : 0;
    }
    // both sides of each check were exercised
    assertThat(validDomains).isGreaterThan(500);
    assertThat(validPrefixes).isGreaterThan(500);
  }

  private static String generate(Random random, List<String> tokens) {
    int n = random.nextInt(8);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(tokens.get(random.nextInt(tokens.size())));
    }
    return sb.toString();
  }
}
