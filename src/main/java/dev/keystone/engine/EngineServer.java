package dev.keystone.engine;

import dev.keystone.script.LuaScript;
import dev.keystone.script.RequestScript;
import dev.keystone.script.ScriptRequest;
import dev.keystone.script.ScriptState;
import dev.keystone.script.ScriptStates;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One event loop's share of a script engine: the HTTP endpoints of docs/engine-protocol.md
 * ({@code POST /v1/decide}, the original {@code POST /route/{tenant}}, {@code GET /health},
 * {@code POST /reload}) and this loop's Lua states, one per tenant and script, never shared
 * between threads. Scripts run with the same sandbox and limits as inside the gateway.
 */
final class EngineServer extends VerticleBase {

  /** A decide request's most: a 1 MiB script_body as JSON text (up to 6 MiB of escapes), headers, backends. */
  static final int MAX_BODY = 8 * 1024 * 1024;
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger("keystone.engine");

  private final Engine engine;
  private final ScriptStates<String> states = new ScriptStates<>(new HashMap<>());
  private ScriptLibrary seen;
  private HttpServer server;

  EngineServer(Engine engine) {
    this.engine = engine;
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true))
        .requestHandler(this::handle);
    return server.listen(engine.address());
  }

  int actualPort() {
    return server.actualPort();
  }

  private void handle(HttpServerRequest req) {
    String path = req.path();
    if (path.equals("/health") && req.method() == HttpMethod.GET && !engine.warm()) {
      json(req, 503, new JsonObject().put("status", "starting")); // running each script once first
    } else if (path.equals("/health") && req.method() == HttpMethod.GET) {
      ScriptLibrary lib = engine.library();
      JsonObject health = new JsonObject().put("status", "healthy").put("scripts", lib.scripts().size())
          .put("scripts_version", lib.version()).put("protocol", EngineProtocol.VERSION);
      if ("1".equals(req.getParam("scripts"))) { // the names it serves, for a gateway to check its tenants' scripts
        health.put("names", new JsonArray(new java.util.ArrayList<>(lib.scripts().keySet())));
      }
      json(req, 200, health);
    } else if (path.equals("/reload") && req.method() == HttpMethod.POST) {
      vertx.executeBlocking(engine::reload, false).onComplete(ar -> {
        if (ar.succeeded()) {
          json(req, 200, new JsonObject().put("reloaded", true).put("scripts_version", ar.result().version())
              .put("scripts", ar.result().scripts().size()));
        } else {
          Throwable t = ar.cause();
          JsonArray errors = t instanceof ScriptLibrary.LoadException l ? new JsonArray(l.errors) : new JsonArray().add(t.toString());
          json(req, 422, new JsonObject().put("reloaded", false).put("errors", errors));
        }
      });
    } else if (path.equals("/v1/decide") && req.method() == HttpMethod.POST) {
      withBody(req, body -> {
        String script = EngineProtocol.scriptName(body);
        String tenant = EngineProtocol.tenant(body);
        long deadline = EngineProtocol.deadlineNanos(body);
        String params = EngineProtocol.params(body);
        return decide(tenant, script, () -> EngineProtocol.request(body, backendsOf(tenant, body), engine.environment().store(tenant)),
            false, deadline, params);
      });
    } else if (path.equals("/v1/respond") && req.method() == HttpMethod.POST) {
      withBody(req, body -> {
        String script = EngineProtocol.scriptName(body);
        String tenant = EngineProtocol.tenant(body);
        ResponsePhase.Head head = ResponsePhase.head(body);
        long deadline = EngineProtocol.deadlineNanos(body);
        String params = EngineProtocol.params(body);
        return respond(tenant, script, EngineProtocol.request(body, java.util.List.of(), engine.environment().store(tenant)), head,
            deadline, params);
      });
    } else if (path.startsWith("/route/") && req.method() == HttpMethod.POST) {
      String tenant = path.substring("/route/".length());
      String script = req.getParam("script", tenant); // the original engine: a script per tenant
      withBody(req, body -> decide(tenant, script,
          () -> CompatProtocol.request(tenant, body, engine.environment().store(tenant)), true, Long.MAX_VALUE, null));
    } else {
      json(req, 404, new JsonObject().put("error", "no such endpoint: " + req.method() + " " + path));
    }
  }

  /** Runs the script; the result is the HTTP status and body to send. */
  private Answer decide(String tenant, String scriptName, Supplier<ScriptRequest> request, boolean compat, long deadlineNanos,
                        String params) {
    ScriptLibrary lib = library();
    LuaScript script = lib.scripts().get(scriptName);
    if (script == null) {
      return new Answer(404, new JsonObject().put("error", "no script '" + scriptName + "' in " + lib.dir()));
    }
    ScriptRequest r = request.get();
    try {
      RequestScript rs = states.get(tenant + "\u0000" + scriptName, () -> new RequestScript(script, engine.environment())
          .shareTimeWith(engine.environment().timeShare(tenant, engine.environment().limits())));
      var d = rs.params(params).limitDeadline(deadlineNanos).decide(r);
      if (compat) {
        return new Answer(200, CompatProtocol.answer(d));
      }
      JsonObject answer = EngineProtocol.answer(d);
      if (rs.hasOnResponse()) {
        answer.put("on_response", true); // the gateway then calls /v1/respond with the response head
      }
      return new Answer(200, answer);
    } catch (ScriptState.ScriptFailure f) {
      return new Answer(compat ? 500 : 200, new JsonObject().put("version", EngineProtocol.VERSION)
          .put("decision", "error").put("error", f.getMessage()).put("limit", f.limit()));
    }
  }

  /** The engine's scripts; after a reload, this loop's states are dropped (new scripts, new states). */
  private ScriptLibrary library() {
    ScriptLibrary lib = engine.library();
    if (lib != seen) {
      states.clear();
      seen = lib;
    }
    return lib;
  }

  /** Runs the script's on_response for a response head; no on_response: no edits. */
  private Answer respond(String tenant, String scriptName, ScriptRequest r, ResponsePhase.Head head, long deadlineNanos,
                         String params) {
    ScriptLibrary lib = library();
    LuaScript script = lib.scripts().get(scriptName);
    if (script == null) {
      return new Answer(404, new JsonObject().put("error", "no script '" + scriptName + "' in " + lib.dir()));
    }
    try {
      RequestScript rs = states.get(tenant + "\u0000" + scriptName, () -> new RequestScript(script, engine.environment())
          .shareTimeWith(engine.environment().timeShare(tenant, engine.environment().limits())));
      if (!rs.hasOnResponse()) {
        return new Answer(200, new JsonObject().put("version", EngineProtocol.VERSION).put("status", head.status()));
      }
      return new Answer(200, ResponsePhase.answer(rs.params(params).limitDeadline(deadlineNanos).onResponse(r, head.backend(), head.status(),
          head.headers())));
    } catch (ScriptState.ScriptFailure f) {
      return new Answer(200, new JsonObject().put("version", EngineProtocol.VERSION)
          .put("decision", "error").put("error", f.getMessage()).put("limit", f.limit()));
    }
  }

  /** The last backend list seen per tenant: reused while the gateway sends the same one. */
  private final Map<String, Map.Entry<JsonArray, java.util.List<ReportedBackend>>> backends = new HashMap<>();

  /**
   * The request's backends, parsed once per distinct list: the gateway sends the same list (same
   * names, URLs, health) for most requests, and reusing the parsed list lets the script state
   * reuse its {@code req.backends} table too.
   */
  private java.util.List<ReportedBackend> backendsOf(String tenant, JsonObject body) {
    Object raw = body.getValue("backends");
    if (raw != null && !(raw instanceof JsonArray)) {
      throw new IllegalArgumentException("backends: a list");
    }
    JsonArray list = raw == null ? new JsonArray() : (JsonArray) raw;
    Map.Entry<JsonArray, java.util.List<ReportedBackend>> cached = backends.get(tenant);
    if (cached != null && cached.getKey().equals(list)) {
      return cached.getValue();
    }
    java.util.List<ReportedBackend> parsed = EngineProtocol.backends(list);
    if (backends.size() > 10_000) {
      backends.clear(); // bounded: one entry per tenant
    }
    backends.put(tenant, Map.entry(list, parsed));
    return parsed;
  }

  private record Answer(int status, JsonObject body) {
  }

  private interface BodyHandler {
    Answer handle(JsonObject body);
  }

  private void withBody(HttpServerRequest req, BodyHandler handler) {
    String length = req.getHeader("Content-Length");
    if (length != null && length.length() < 12 && Long.parseLong(length) > MAX_BODY) {
      json(req, 413, new JsonObject().put("error", "request body above " + MAX_BODY + " bytes"));
      return;
    }
    Buffer collected = Buffer.buffer();
    req.handler(chunk -> {
      if (collected.length() + chunk.length() > MAX_BODY) {
        req.pause();
        json(req, 413, new JsonObject().put("error", "request body above " + MAX_BODY + " bytes"));
        return;
      }
      collected.appendBuffer(chunk);
    });
    req.endHandler(v -> {
      if (req.response().ended()) {
        return;
      }
      try {
        Answer a = handler.handle(collected.toJsonObject());
        json(req, a.status(), a.body());
      } catch (DecodeException e) {
        json(req, 400, new JsonObject().put("error", "the body is not a JSON object: " + e.getMessage()));
      } catch (ClassCastException e) {
        json(req, 400, new JsonObject().put("error", "a field has the wrong type (see docs/engine-protocol.schema.json)"));
      } catch (IllegalArgumentException e) {
        json(req, 400, new JsonObject().put("error", e.getMessage()));
      } catch (RuntimeException e) {
        // never leave the caller hanging: it would wait for its deadline
        LOG.log(java.util.logging.Level.SEVERE, "decide failed", e);
        json(req, 500, new JsonObject().put("error", "engine error: " + e));
      }
    });
  }

  private static void json(HttpServerRequest req, int status, JsonObject body) {
    if (!req.response().ended()) {
      req.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }
}
