package dev.keystone.app;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.Map;

/**
 * Two tiny HTTP backends ("blue" and "green") for the embedded default config, so a first run
 * serves something real: each answers any path with JSON saying who it is and what it received.
 */
final class DemoBackends {

  private final Vertx vertx = Vertx.vertx();
  private final Map<String, HttpServer> servers = new HashMap<>();

  Future<Map<String, String>> start() {
    return Future.all(start("blue"), start("green")).map(v -> {
      Map<String, String> env = new HashMap<>();
      servers.forEach((name, s) -> env.put("KEYSTONE_DEMO_" + name.toUpperCase(), Integer.toString(s.actualPort())));
      return env;
    });
  }

  private Future<HttpServer> start(String name) {
    return vertx.createHttpServer()
        .requestHandler(req -> {
          JsonObject body = new JsonObject()
              .put("backend", name)
              .put("method", req.method().name())
              .put("path", req.path())
              .put("query", req.query())
              .put("host", req.getHeader("Host"))
              .put("x_forwarded_for", req.getHeader("X-Forwarded-For"))
              .put("request_id", req.getHeader("X-Request-ID"))
              .put("routed_by", req.getHeader("X-Routed-By")); // set by the demo's routing script
          req.response().putHeader("Content-Type", "application/json").end(body.encodePrettily() + "\n");
        })
        .listen(0, "127.0.0.1")
        .onSuccess(s -> servers.put(name, s));
  }

  Future<Void> close() {
    return vertx.close();
  }
}
