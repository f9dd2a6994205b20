package dev.keystone.testing;

import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP backend on an ephemeral loopback port. By default it answers every request with
 * its name and the path it saw; tests can swap the handler. It records every request head it
 * received, and counts the ones whose body arrived complete.
 */
public final class TestBackend implements AutoCloseable {

  /** What the backend saw of one request. */
  public record Seen(String method, String uri, MultiMap headers) {
  }

  private final Vertx vertx;
  private final String name;
  private final HttpServer server;
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final AtomicInteger completed = new AtomicInteger();
  private volatile Handler<HttpServerRequest> handler;
  private volatile int healthStatus = 200;

  public TestBackend(Vertx vertx, String name) {
    this.vertx = vertx;
    this.name = name;
    this.handler = req -> req.body().onSuccess(b -> req.response()
        .putHeader("Content-Type", "text/plain")
        .putHeader("X-Backend", name)
        .end(name + " " + req.uri()));
    this.server = Await.result(vertx.createHttpServer()
        .requestHandler(req -> {
          if (req.path().endsWith("/health") || "keystone-health-check".equals(req.getHeader("User-Agent"))) {
            req.response().setStatusCode(healthStatus).end("health " + healthStatus);
            return;
          }
          seen.add(new Seen(req.method().name(), req.uri(), MultiMap.caseInsensitiveMultiMap().addAll(req.headers())));
          req.endHandler(v -> completed.incrementAndGet());
          handler.handle(req);
        })
        .listen(0, "127.0.0.1"));
  }

  public TestBackend handler(Handler<HttpServerRequest> h) {
    this.handler = h;
    return this;
  }

  /** Makes /health answer this status (500 makes the backend unhealthy at the next check). */
  public void healthStatus(int status) {
    this.healthStatus = status;
  }

  public String name() {
    return name;
  }

  public int port() {
    return server.actualPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  public List<Seen> seen() {
    return seen;
  }

  public Seen last() {
    return seen.get(seen.size() - 1);
  }

  /** Requests that arrived (head received). */
  public int requests() {
    return seen.size();
  }

  /** Requests whose body arrived complete. */
  public int completed() {
    return completed.get();
  }

  public Vertx vertx() {
    return vertx;
  }

  @Override
  public void close() {
    Await.result(server.close());
  }
}
