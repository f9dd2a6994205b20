package dev.keystone.model;



import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RoundRobinTest {

  static Backend backend(String name, int weight, boolean healthy) {
    BackendHealth h = new BackendHealth();
    h.record(healthy, "test", Instant.EPOCH);
    return new Backend(name, "http://127.0.0.1:1/" + name, "/health", weight, Map.of(), UpstreamTls.DEFAULT, h);
  }

  static List<String> picks(Pool pool, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Pool.Pick p = pool.pick(null);
      out.add(p.backend().name() + (p.fallback() ? "!" : ""));
    }
    return out;
  }

  @Test
  void rotatesOverHealthyBackendsOnly() {
    List<Backend> bs = List.of(backend("a", 1, true), backend("b", 1, false), backend("c", 1, true));
    Pool pool = new Pool(bs, new RoundRobin(bs));
    assertThat(picks(pool, 4)).containsExactly("a", "c", "a", "c");
  }

  @Test
  void fallsBackToTheFirstBackendWhenNoneIsHealthy() {
    List<Backend> bs = List.of(backend("a", 1, false), backend("b", 1, false));
    Pool pool = new Pool(bs, new RoundRobin(bs));
    assertThat(picks(pool, 2)).containsExactly("a!", "a!");
    assertThat(pool.inFallback()).isTrue();
    assertThat(pool.pick(bs.get(0)).backend().name()).as("a retry after the first failed goes to the next one")
        .isEqualTo("b");
    assertThat(new Pool(List.of(bs.get(0)), new RoundRobin(List.of(bs.get(0)))).pick(bs.get(0)))
        .as("nothing left once the only one has failed").isNull();
  }

  @Test
  void excludesTheBackendThatJustFailed() {
    List<Backend> bs = List.of(backend("a", 1, true), backend("b", 1, true));
    Pool pool = new Pool(bs, new RoundRobin(bs));
    for (int i = 0; i < 5; i++) {
      assertThat(pool.pick(bs.get(0)).backend().name()).isEqualTo("b");
    }
  }

  @Test
  void weightsAreSmoothlyInterleaved() {
    assertThat(RoundRobin.schedule(new int[] {5, 1, 1})).containsExactly(0, 0, 1, 0, 2, 0, 0);
    List<Backend> bs = List.of(backend("a", 3, true), backend("b", 1, true));
    Pool pool = new Pool(bs, new RoundRobin(bs));
    List<String> p = picks(pool, 400);
    assertThat(p.stream().filter("a"::equals).count()).isEqualTo(300);
  }

  @Test
  void healthTransitionsAreRecordedOnlyOnChange() {
    BackendHealth h = new BackendHealth();
    assertThat(h.healthy()).as("starts unhealthy, as the original").isFalse();
    assertThat(h.record(true, "ok", Instant.EPOCH)).isTrue();
    assertThat(h.record(true, "ok", Instant.EPOCH)).isFalse();
    assertThat(h.record(false, "down", Instant.EPOCH)).isTrue();
    assertThat(h.history()).extracting(BackendHealth.Transition::healthy).containsExactly(true, false);
  }

  @Test
  void targetJoinsTheServicePathAndMergesQueries() {
    Backend b = new Backend("s", "http://h:3002/v1?key=k", "/health", 1, Map.of(), UpstreamTls.DEFAULT, new BackendHealth());
    assertThat(b.target("/users", "page=2")).isEqualTo("/v1/users?key=k&page=2");
    assertThat(b.target("/", null)).isEqualTo("/v1/?key=k");
    assertThat(b.healthUri()).isEqualTo("/v1/health");
    Backend plain = new Backend("s", "http://h", "health", 1, Map.of(), UpstreamTls.DEFAULT, new BackendHealth());
    assertThat(plain.target("/x", "")).isEqualTo("/x");
    assertThat(plain.authority()).isEqualTo("h");
    assertThat(plain.port()).isEqualTo(80);
    assertThat(plain.healthUri()).isEqualTo("/health");
  }

  static Backend standby(String name, boolean healthy) {
    BackendHealth h = new BackendHealth();
    h.record(healthy, "test", Instant.EPOCH);
    return new Backend(name, Backend.Address.parse("http://127.0.0.1:1/" + name), "/health", 1, Map.of(), UpstreamTls.DEFAULT,
        h, true);
  }

  @Test
  void aStandbyBackendHasNoTurnAndServesOnlyWhenNoOtherIsHealthy() {
    Backend a = backend("a", 1, true);
    Backend b = backend("b", 1, true);
    Backend s = standby("s", true);
    List<Backend> bs = List.of(a, s, b);
    Pool pool = new Pool(bs, new RoundRobin(bs));
    assertThat(picks(pool, 4)).containsExactly("a", "b", "a", "b");
    a.health().record(false, "down", Instant.EPOCH);
    b.health().record(false, "down", Instant.EPOCH);
    assertThat(picks(pool, 2)).containsExactly("s", "s"); // healthy: before the fallback onto a backend that is down
    s.health().record(false, "down", Instant.EPOCH);
    assertThat(picks(pool, 1)).containsExactly("a!");
    List<Backend> only = List.of(standby("x", true), standby("y", true));
    assertThat(picks(new Pool(only, new RoundRobin(only)), 2)).containsExactly("x", "y"); // all standby: turns as usual
  }
}
