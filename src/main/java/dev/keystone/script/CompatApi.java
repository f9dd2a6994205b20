package dev.keystone.script;

import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

import java.util.List;

/**
 * The original engine's script interface, so its scripts run unchanged:
 * {@code on_route_request(request, backends)} gets {@code request = {method, path, host,
 * headers, body}} and a list of {@code {name, url, health, labels}}, and returns
 * {@code {selected_backend, modified_headers, modified_path, reject, reject_reason}} (every field
 * optional; nil or an empty table routes as usual).
 */
final class CompatApi {

  private CompatApi() {
  }

  static LuaTable request(ScriptRequest r) {
    LuaTable t = new LuaTable();
    t.rawset("method", LuaValue.valueOf(r.method()));
    t.rawset("path", LuaValue.valueOf(r.path()));
    t.rawset("host", r.host() == null ? LuaValue.valueOf("") : LuaValue.valueOf(r.host()));
    t.rawset("headers", LuaTables.headers(r.headers()));
    t.rawset("body", LuaValue.valueOf("")); // bodies are streamed, never given to scripts
    return t;
  }

  static LuaTable backends(ScriptRequest r) {
    LuaTable list = new LuaTable();
    for (BackendView b : r.backends()) {
      LuaTable t = LuaTables.backend(b);
      t.rawset("health", LuaValue.valueOf(b.healthy()));
      list.rawset(list.length() + 1, t);
    }
    return list;
  }

  /** Reads the returned table raw (no metamethod runs); called inside the script's call, under its budget. */
  static void apply(LuaValue result, ScriptRequest r, Decision d) {
    if (result.isnil()) {
      return;
    }
    if (!result.istable()) {
      throw new LuaError("on_route_request must return a table or nil, got " + result.typename());
    }
    LuaTable t = result.checktable();
    LuaValue headers = t.rawget("modified_headers");
    if (headers.istable()) {
      LuaTable h = headers.checktable();
      for (LuaValue k = h.next(LuaValue.NIL).arg1(); !k.isnil(); k = h.next(k).arg1()) {
        String v = HeaderArgs.text(h.rawget(k), false);
        String problem = EditRules.valueProblem(v);
        if (problem != null) {
          throw new LuaError("modified_headers: " + problem);
        }
        d.editHeader(HeaderArgs.checkName(HeaderArgs.text(k, true)), v);
      }
    }
    LuaValue path = t.rawget("modified_path");
    if (path.isstring() && !path.tojstring().isEmpty()) {
      String problem = EditRules.pathProblem(path.tojstring());
      if (problem != null) {
        throw new LuaError("modified_path: " + problem);
      }
      d.path = path.tojstring();
    }
    if (t.rawget("reject").toboolean()) {
      d.kind = Decision.Kind.REJECT;
      d.status = 403;
      d.reason = t.rawget("reject_reason").optjstring("rejected by script");
      return;
    }
    LuaValue selected = t.rawget("selected_backend");
    if (selected.isstring() && !selected.tojstring().isEmpty()) {
      String name = selected.tojstring();
      List<BackendView> match = r.backends().stream().filter(b -> b.name().equals(name)).map(b -> (BackendView) b).toList();
      if (match.isEmpty()) {
        throw new LuaError("selected_backend: tenant " + r.tenant() + " has no backend named '" + name + "'");
      }
      d.kind = Decision.Kind.ROUTE;
      d.candidates = match;
      d.target = name;
    }
  }
}
