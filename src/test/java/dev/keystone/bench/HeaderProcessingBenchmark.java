package dev.keystone.bench;

import dev.keystone.proxy.HopByHop;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/** Per-request header work: copying a browser-like request head without hop-by-hop headers. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HeaderProcessingBenchmark {

  final io.netty.handler.codec.http.HttpHeaders request = io.vertx.core.http.impl.headers.HeadersMultiMap.httpHeaders()
      .add("Host", "app.example.com")
      .add("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
      .add("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
      .add("Accept-Language", "en-US,en;q=0.5")
      .add("Accept-Encoding", "gzip, deflate, br")
      .add("Connection", "keep-alive")
      .add("Cookie", "session=abc123; theme=dark")
      .add("Upgrade-Insecure-Requests", "1")
      .add("Cache-Control", "max-age=0");

  @Benchmark
  public io.netty.handler.codec.http.HttpHeaders copyRequestHead() {
    io.netty.handler.codec.http.HttpHeaders out = io.vertx.core.http.impl.headers.HeadersMultiMap.httpHeaders();
    HopByHop.copy(request, out::add, "host");
    return out;
  }
}
