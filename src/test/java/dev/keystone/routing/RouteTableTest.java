package dev.keystone.routing;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RouteTableTest {

  private final RouteTable<String> table = RouteTable.<String>builder()
      .path("/api/", "api")
      .path("/api/v2/", "api-v2")
      .path("/", "root")
      .host("app.example.com", "app")
      .hybrid("app.example.com", "/admin/", "app-admin")
      .hybrid("app.example.com", "/admin/deep/", "app-admin-deep")
      .host("*.example.com", "wild")
      .host("*.eu.example.com", "wild-eu")
      .hybrid("*.example.com", "/static/", "wild-static")
      .build();

  private String route(String host, String path) {
    RouteTable.Match<String> m = table.match(Hosts.normalize(host), path);
    return m == null ? null : m.target() + " " + m.prefix();
  }

  @Test
  void hybridBeatsHostBeatsPath() {
    assertThat(route("app.example.com", "/admin/users")).isEqualTo("app-admin /admin/");
    assertThat(route("app.example.com", "/admin/deep/x")).isEqualTo("app-admin-deep /admin/deep/");
    assertThat(route("app.example.com", "/api/x")).isEqualTo("app ");
    assertThat(route("other.org", "/api/x")).isEqualTo("api /api/");
  }

  @Test
  void longestPathPrefixWins() {
    assertThat(route("", "/api/v2/users")).isEqualTo("api-v2 /api/v2/");
    assertThat(route("", "/api/v3/users")).isEqualTo("api /api/");
    assertThat(route("", "/elsewhere")).isEqualTo("root /");
    assertThat(route("", "/api")).as("a prefix without its slash").isEqualTo("api /api/");
    assertThat(route("", "/apix")).isEqualTo("root /");
  }

  @Test
  void hostIsMatchedWithoutPortAndCaseInsensitively() {
    assertThat(route("APP.Example.COM:8443", "/")).isEqualTo("app ");
    assertThat(route("app.example.com.", "/")).isEqualTo("app ");
  }

  @Test
  void wildcardsMatchSubdomainsMostSpecificFirstAndExactHostsWin() {
    assertThat(route("shop.example.com", "/")).isEqualTo("wild ");
    assertThat(route("a.b.example.com", "/")).isEqualTo("wild ");
    assertThat(route("shop.eu.example.com", "/")).isEqualTo("wild-eu ");
    assertThat(route("shop.example.com", "/static/app.js")).isEqualTo("wild-static /static/");
    assertThat(route("example.com", "/x")).as("the bare domain is not a subdomain").isEqualTo("root /");
    // the exact host's own routes come first; the wildcard's hybrid route still beats host-only
    assertThat(route("app.example.com", "/static/x")).isEqualTo("wild-static /static/");
  }

  @Test
  void noMatchIsNull() {
    RouteTable<String> onlyHosts = RouteTable.<String>builder().host("a.example.com", "a").build();
    assertThat(onlyHosts.match("b.example.com", "/")).isNull();
    assertThat(onlyHosts.claimsHost("a.example.com")).isTrue();
    assertThat(onlyHosts.claimsHost("b.example.com")).isFalse();
  }

  @Test
  void tenThousandTenantsStillMatchExactly() {
    RouteTable.Builder<Integer> b = RouteTable.builder();
    for (int i = 0; i < 10_000; i++) {
      b.path("/t" + i + "/", i);
      b.host("t" + i + ".example.com", -i);
    }
    RouteTable<Integer> big = b.build();
    assertThat(big.match("", "/t9999/x").target()).isEqualTo(9999);
    assertThat(big.match("t4242.example.com", "/t1/").target()).isEqualTo(-4242);
    assertThat(big.match("", "/t10000/x")).isNull();
  }
}
