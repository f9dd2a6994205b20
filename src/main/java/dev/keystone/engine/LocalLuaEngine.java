package dev.keystone.engine;

import dev.keystone.catalog.EntryTests;
import dev.keystone.script.LuaScript;
import dev.keystone.script.RequestScript;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.script.ScriptState;
import io.vertx.core.json.JsonObject;

import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

/**
 * One Lua script answering engine-protocol calls in this process, as the Lua engine's
 * {@code /v1/decide} and {@code /v1/respond} do (same parsing, same answers), with a fresh
 * environment: what {@code keystone scripts verify} and the catalog's tests run a Lua entry on.
 */
public final class LocalLuaEngine implements EntryTests.Engine {

  private final LuaScript script;
  private final ScriptEnvironment env = ScriptEnvironment.system(Clock.systemUTC());
  private final Map<String, RequestScript> states = new HashMap<>();

  public LocalLuaEngine(LuaScript script) {
    this.script = script;
  }

  @Override
  public JsonObject call(String endpoint, JsonObject body) throws Exception {
    String tenant = EngineProtocol.tenant(body);
    String params = EngineProtocol.params(body);
    var request = EngineProtocol.request(body, env.store(tenant));
    try {
      RequestScript rs = state(tenant).params(params);
      if (endpoint.equals("respond")) {
        ResponsePhase.Head head = ResponsePhase.head(body);
        if (!rs.hasOnResponse()) {
          return new JsonObject().put("version", EngineProtocol.VERSION).put("status", head.status());
        }
        return ResponsePhase.answer(rs.onResponse(request, head.backend(), head.status(), head.headers()));
      }
      JsonObject answer = EngineProtocol.answer(rs.decide(request));
      if (rs.hasOnResponse()) {
        answer.put("on_response", true);
      }
      return answer;
    } catch (ScriptState.ScriptFailure f) {
      return new JsonObject().put("version", EngineProtocol.VERSION).put("decision", "error").put("error", f.getMessage())
          .put("limit", f.limit());
    }
  }

  private RequestScript state(String tenant) throws ScriptState.ScriptFailure {
    RequestScript rs = states.get(tenant);
    if (rs == null) {
      rs = new RequestScript(script, env);
      states.put(tenant, rs);
    }
    return rs;
  }
}
