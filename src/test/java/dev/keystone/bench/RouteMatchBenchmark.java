package dev.keystone.bench;

import dev.keystone.routing.Hosts;
import dev.keystone.routing.PathNormalizer;
import dev.keystone.routing.RouteTable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Route matching cost with many tenants: a third path-routed, a third host-routed, a third
 * hybrid. Includes the per-request Host normalisation and path check, as the proxy does them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RouteMatchBenchmark {

  @Param({"10", "10000"})
  int tenants;

  RouteTable<Integer> table;
  String pathHit;
  String hostHit;
  String hybridHost;

  @Setup
  public void build() {
    RouteTable.Builder<Integer> b = RouteTable.builder();
    for (int i = 0; i < tenants; i++) {
      switch (i % 3) {
        case 0 -> b.path("/tenant" + i + "/api/", i);
        case 1 -> b.host("app" + i + ".example.com", i);
        default -> b.hybrid("shop" + i + ".example.com", "/v2/", i);
      }
    }
    table = b.build();
    int last = tenants - 1 - ((tenants - 1) % 3);
    pathHit = "/tenant" + last + "/api/users/42/orders";
    hostHit = "App" + (tenants >= 2 ? 1 : 0) + ".Example.com:8080";
    hybridHost = "shop" + (tenants >= 3 ? 2 : 0) + ".example.com";
  }

  @Benchmark
  public Object pathPrefixHit() {
    return table.match(Hosts.normalize("localhost:8080"), PathNormalizer.normalize(pathHit));
  }

  @Benchmark
  public Object hostHit() {
    return table.match(Hosts.normalize(hostHit), PathNormalizer.normalize("/users/42"));
  }

  @Benchmark
  public Object hybridHit() {
    return table.match(Hosts.normalize(hybridHost), PathNormalizer.normalize("/v2/cart/items"));
  }

  @Benchmark
  public Object miss() {
    return table.match(Hosts.normalize("unknown.example.org"), PathNormalizer.normalize("/nothing/here/at/all"));
  }
}
