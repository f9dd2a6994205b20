package dev.keystone.script;

import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A tenant's routing script in one Lua state, and the API it is given: {@code on_request(req)}
 * with {@code route_to}, {@code respond}, {@code reject} and the request edits on {@code req}
 * ({@code set_header}, {@code remove_header}, {@code set_path}, {@code set_query}), or the
 * original engine's {@code on_route_request(request, backends)} returning a table. The full API
 * is in docs/scripting.md. One per script per event loop.
 */
public final class RequestScript {

  private final ScriptState state;
  private final LuaValue onRequest;
  private final LuaValue onRouteRequest;
  private final LuaValue onResponse;
  /** The request being decided, for the API functions (the state is used by one thread). */
  private ScriptRequest request;
  private Decision decision;
  /** {@code req.params} / {@code res.params}: a catalog script's parameters, read-only; empty for other scripts. */
  private LuaTable params = ScriptParams.EMPTY;
  private String paramsJson;

  // The req.* functions, made once per state: they act on the request being decided.
  private final VarArgFunction headerValues = fn(args -> {
    String name = args.checkjstring(HeaderArgs.offset(args) + 1);
    LuaTable values = new LuaTable();
    for (Map.Entry<String, String> h : request.headers()) {
      if (h.getKey().equalsIgnoreCase(name)) {
        values.rawset(values.length() + 1, LuaValue.valueOf(h.getValue()));
      }
    }
    return values;
  });
  private final VarArgFunction setHeader = fn(args -> {
    current("set_header").editHeader(HeaderArgs.name(args, 1), HeaderArgs.value(args, 2));
    return LuaValue.NONE;
  });
  private final VarArgFunction removeHeader = fn(args -> {
    current("remove_header").editHeader(HeaderArgs.name(args, 1), null);
    return LuaValue.NONE;
  });
  private final VarArgFunction setPath = fn(args -> {
    int at = HeaderArgs.offset(args) + 1;
    String tooLong = EditRules.targetLengthProblem(args.checkstring(at).rawlen(), true);
    if (tooLong != null) {
      throw new LuaError("set_path: " + tooLong);
    }
    String p = args.checkjstring(at);
    String problem = EditRules.pathProblem(p);
    if (problem != null) {
      throw new LuaError("set_path: " + problem);
    }
    current("set_path").path = p;
    return LuaValue.NONE;
  });
  private final VarArgFunction compatCall = fn(this::callCompat);
  private final VarArgFunction setQuery = fn(args -> {
    int at = HeaderArgs.offset(args) + 1;
    String tooLong = null;
    if (args.isstring(at)) {
      org.luaj.vm2.LuaString raw = args.checkstring(at);
      int length = raw.rawlen() > 0 && raw.luaByte(0) == '?' ? raw.rawlen() - 1 : raw.rawlen(); // checked before it is copied
      tooLong = EditRules.targetLengthProblem(length, false);
    }
    if (tooLong != null) {
      throw new LuaError("set_query: " + tooLong);
    }
    String q = args.optjstring(at, "");
    q = q.startsWith("?") ? q.substring(1) : q;
    String problem = EditRules.queryProblem(q);
    if (problem != null) {
      throw new LuaError("set_query: " + problem);
    }
    current("set_query").query = q;
    return LuaValue.NONE;
  });

  public RequestScript(LuaScript script, ScriptEnvironment env) throws ScriptState.ScriptFailure {
    this(script, env, env.limits());
  }

  /** With {@code limits} instead of the environment's defaults (the config's script_limits). */
  public RequestScript(LuaScript script, ScriptEnvironment env, ScriptLimits limits) throws ScriptState.ScriptFailure {
    this.state = new ScriptState(script, limits, g -> {
      install(g);
      Helpers.install(g, env, () -> request);
    });
    this.onRequest = state.function("on_request");
    this.onRouteRequest = state.function("on_route_request");
    this.onResponse = state.function("on_response");
    if (onRequest == null && onRouteRequest == null) {
      throw new ScriptState.ScriptFailure(script.name() + ": defines neither on_request(req) nor on_route_request(request, backends)", false);
    }
  }

  public LuaScript script() {
    return state.script();
  }

  /**
   * The parameters the next calls see as {@code req.params} (a JSON object's text; null: none).
   * The table is made again only when the text changes: a tenant's calls reuse it.
   */
  public RequestScript params(String json) {
    if (!java.util.Objects.equals(json, paramsJson)) {
      params = ScriptParams.of(json);
      paramsJson = json;
    }
    return this;
  }

  /** Charges this state's calls to its tenant's share of script time; returns this. */
  public RequestScript shareTimeWith(TimeShare share) {
    state.shareTimeWith(share);
    return this;
  }

  /** The next calls end within {@code nanos} (or the limits' deadline, if less): a remote gateway's deadline_ms. */
  public RequestScript limitDeadline(long nanos) {
    state.limitDeadline(nanos);
    return this;
  }

  /** This state is no longer used: its memory share goes back to the process's. */
  public void close() {
    state.close();
  }

  /** Runs the script for {@code req}; any failure of the script is a ScriptFailure. */
  public Decision decide(ScriptRequest req) throws ScriptState.ScriptFailure {
    request = req;
    decision = new Decision();
    try {
      if (onRequest != null) {
        state.call(onRequest, requestTable(req));
      } else {
        // The result is read inside the call, raw: within its budget, and no metamethod of the
        // returned table runs when the gateway reads it.
        state.call(compatCall, LuaValue.varargsOf(CompatApi.request(req), CompatApi.backends(req)));
      }
      return decision;
    } catch (LuaError e) {
      throw new ScriptState.ScriptFailure(e.getMessage(), false);
    } finally {
      request = null;
      decision = null;
    }
  }

  /** on_route_request and the reading of its result, as one call under the budget. */
  private Varargs callCompat(Varargs args) {
    CompatApi.apply(onRouteRequest.invoke(args).arg1(), request, decision);
    return LuaValue.NONE;
  }

  /** The decision being made; outside on_request (on_response, the top level) there is none. */
  private Decision current(String fn) {
    if (decision == null) {
      throw new LuaError(fn + " can only be called while on_request runs (on_response edits the response with res.*)");
    }
    return decision;
  }

  /** Whether the script defines {@code on_response(res)}. */
  public boolean hasOnResponse() {
    return onResponse != null;
  }

  /**
   * Runs {@code on_response(res)} for the backend's response head: the script may change the
   * status (between statuses that carry a body) and set or remove headers; the body streams
   * through untouched.
   */
  public ResponseEdits onResponse(ScriptRequest req, String backend, int status,
                                  List<Map.Entry<String, String>> headers) throws ScriptState.ScriptFailure {
    request = req;
    ResponseEdits edits = new ResponseEdits(status);
    LuaTable res = new LuaTable();
    res.rawset("status", LuaValue.valueOf(status));
    res.rawset("headers", LuaTables.headers(headers));
    res.rawset("backend", LuaValue.valueOf(backend));
    res.rawset("tenant", LuaValue.valueOf(req.tenant()));
    res.rawset("request_id", LuaValue.valueOf(req.requestId()));
    res.rawset("path", LuaValue.valueOf(req.path()));
    res.rawset("method", LuaValue.valueOf(req.method()));
    res.rawset(K_PARAMS, params);
    res.rawset("set_status", fn(args -> {
      int s = args.checkint(HeaderArgs.offset(args) + 1);
      if (!carriesBody(status) || !carriesBody(s)) {
        throw new LuaError("set_status: cannot change " + status + " to " + s
            + " (only between statuses 200-599 other than 204 and 304: the body framing must stay valid)");
      }
      edits.status = s;
      return LuaValue.NONE;
    }));
    res.rawset("set_header", fn(args -> {
      edits.put(HeaderArgs.name(args, 1), HeaderArgs.value(args, 2));
      return LuaValue.NONE;
    }));
    res.rawset("remove_header", fn(args -> {
      edits.put(HeaderArgs.name(args, 1), null);
      return LuaValue.NONE;
    }));
    try {
      state.call(onResponse, res);
      return edits;
    } finally {
      request = null;
    }
  }

  private static boolean carriesBody(int status) {
    return ResponseEdits.carriesBody(status);
  }

  private void install(Globals g) {
    g.set("route_to", fn(args -> {
      route(args.arg1());
      return LuaValue.TRUE;
    }));
    g.set("respond", fn(args -> {
      Decision decision = current("respond");
      decision.kind = Decision.Kind.RESPOND;
      // 1xx are interim answers: one as the final answer would desynchronise the client's connection
      decision.status = status(args.arg1(), 200, 599, "respond");
      decision.body = args.optjstring(2, "");
      if (args.istable(3)) {
        LuaTable h = args.checktable(3);
        for (LuaValue k = h.next(LuaValue.NIL).arg1(); !k.isnil(); k = h.next(k).arg1()) {
          String name = HeaderArgs.text(k, true);
          String value = HeaderArgs.text(h.rawget(k), false);
          HeaderArgs.check(name, EditRules.nameProblem(name));
          HeaderArgs.check(value, EditRules.valueProblem(value));
          decision.responseHeader(name, value);
        }
      }
      return LuaValue.TRUE;
    }));
    g.set("reject", fn(args -> {
      Decision decision = current("reject");
      decision.kind = Decision.Kind.REJECT;
      decision.status = status(args.arg1(), 400, 599, "reject");
      decision.reason = args.optjstring(2, "rejected");
      return LuaValue.TRUE;
    }));
  }

  private void route(LuaValue target) {
    Decision decision = current("route_to");
    List<BackendView> matches = new ArrayList<>();
    if (target.isstring()) {
      String name = target.tojstring();
      for (BackendView b : request.backends()) {
        if (b.name().equals(name)) {
          matches.add(b);
        }
      }
      if (matches.isEmpty()) {
        throw new LuaError("route_to: tenant " + request.tenant() + " has no backend named '" + name + "'");
      }
      decision.target = name;
    } else if (target.istable()) {
      LuaTable wanted = target.checktable();
      for (BackendView b : request.backends()) {
        if (hasLabels(b, wanted)) {
          matches.add(b);
        }
      }
      decision.target = describe(wanted);
      if (matches.isEmpty()) {
        throw new LuaError("route_to: no backend of tenant " + request.tenant() + " has the labels " + decision.target);
      }
    } else {
      throw new LuaError("route_to: expected a backend name or a table of labels, got " + target.typename());
    }
    decision.kind = Decision.Kind.ROUTE;
    decision.candidates = List.copyOf(matches);
  }

  private static boolean hasLabels(BackendView b, LuaTable wanted) {
    for (LuaValue k = wanted.next(LuaValue.NIL).arg1(); !k.isnil(); k = wanted.next(k).arg1()) {
      LuaValue want = wanted.rawget(k);
      Sandbox.charge(1 + (k.isstring() ? k.checkstring().length() : 0) / 64);
      String v = k.isstring() && k.checkstring().length() <= 256 ? b.labels().get(k.tojstring()) : null;
      if (v == null || !want.isstring() || !want.checkstring().raweq(LuaValue.valueOf(v))) {
        return false;
      }
    }
    return true;
  }

  /** The labels as "{k=v, ...}" for messages and logs: at most about 200 characters, whatever their size. */
  static String describe(LuaTable labels) {
    StringBuilder sb = new StringBuilder("{");
    for (LuaValue k = labels.next(LuaValue.NIL).arg1(); !k.isnil(); k = labels.next(k).arg1()) {
      if (sb.length() > 200) {
        sb.append(", ...");
        break;
      }
      sb.append(sb.length() > 1 ? ", " : "").append(Helpers.shortText(k, 40)).append('=')
          .append(Helpers.shortText(labels.rawget(k), 40));
    }
    return sb.append('}').toString();
  }

  private static int status(LuaValue v, int min, int max, String fn) {
    int s = v.checkint();
    if (s < min || s > max) {
      throw new LuaError(fn + ": status must be between " + min + " and " + max + ", got " + s);
    }
    return s;
  }

  private LuaTable requestTable(ScriptRequest r) {
    LuaTable t = new LuaTable(0, REQUEST_FIELDS);
    t.rawset(K_METHOD, method(r.method()));
    t.rawset(K_PATH, LuaTables.string(r.path()));
    t.rawset(K_RAW_PATH, r.rawPath().equals(r.path()) ? t.rawget(K_PATH) : LuaTables.string(r.rawPath()));
    t.rawset(K_QUERY, LuaTables.query(r.query()));
    t.rawset(K_QUERY_STRING, r.query() == null ? LuaValue.EMPTYSTRING : LuaTables.string(r.query()));
    t.rawset(K_HOST, r.host() == null ? LuaValue.NIL : host.of(r.host()));
    t.rawset(K_CLIENT_IP, r.clientIp() == null ? LuaValue.NIL : clientIp.of(r.clientIp()));
    t.rawset(K_TENANT, tenant.of(r.tenant()));
    t.rawset(K_REQUEST_ID, LuaTables.string(r.requestId()));
    t.rawset(K_HEADERS, LuaTables.headers(r.headers()));
    t.rawset(K_BODY, r.body() == null ? LuaValue.NIL : LuaString.valueUsing(r.body()));
    t.rawset(K_BACKENDS, backends(r.backends()));
    t.rawset(K_HEADER_VALUES, headerValues);
    t.rawset(K_SET_HEADER, setHeader);
    t.rawset(K_REMOVE_HEADER, removeHeader);
    t.rawset(K_SET_PATH, setPath);
    t.rawset(K_SET_QUERY, setQuery);
    t.rawset(K_PARAMS, params);
    return t;
  }

  // The request table's keys, made once rather than from Java strings for every request.
  private static final LuaString K_METHOD = LuaString.valueOf("method");
  private static final LuaString K_PATH = LuaString.valueOf("path");
  private static final LuaString K_RAW_PATH = LuaString.valueOf("raw_path");
  private static final LuaString K_QUERY = LuaString.valueOf("query");
  private static final LuaString K_QUERY_STRING = LuaString.valueOf("query_string");
  private static final LuaString K_HOST = LuaString.valueOf("host");
  private static final LuaString K_CLIENT_IP = LuaString.valueOf("client_ip");
  private static final LuaString K_TENANT = LuaString.valueOf("tenant");
  private static final LuaString K_PARAMS = LuaString.valueOf("params");
  private static final LuaString K_REQUEST_ID = LuaString.valueOf("request_id");
  private static final LuaString K_HEADERS = LuaString.valueOf("headers");
  private static final LuaString K_BODY = LuaString.valueOf("body");
  private static final LuaString K_BACKENDS = LuaString.valueOf("backends");
  private static final LuaString K_HEADER_VALUES = LuaString.valueOf("header_values");
  private static final LuaString K_SET_HEADER = LuaString.valueOf("set_header");
  private static final LuaString K_REMOVE_HEADER = LuaString.valueOf("remove_header");
  private static final LuaString K_SET_PATH = LuaString.valueOf("set_path");
  private static final LuaString K_SET_QUERY = LuaString.valueOf("set_query");
  private static final int REQUEST_FIELDS = 18;
  private static final LuaString GET = LuaString.valueOf("GET");
  private static final LuaString POST = LuaString.valueOf("POST");

  private static LuaString method(String m) {
    return m.equals("GET") ? GET : m.equals("POST") ? POST : LuaTables.string(m);
  }

  // The values that repeat from one request to the next on this state (its tenant, a client's
  // address on a kept-alive connection, the host), converted once while they stay the same.
  private final LastString tenant = new LastString();
  private final LastString host = new LastString();
  private final LastString clientIp = new LastString();

  /** The Lua string of the last Java string asked for: one entry, as the state has one thread. */
  private static final class LastString {
    private String java;
    private LuaString lua;

    LuaString of(String s) {
      if (!s.equals(java)) {
        lua = LuaTables.string(s);
        java = s;
      }
      return lua;
    }
  }

  /**
   * {@code req.backends}, built once per backend list (one per config snapshot) and read-only,
   * so that only each backend's {@code healthy} flag is refreshed per request.
   */
  private LuaTable backends(List<? extends BackendView> list) {
    if (list != backendsFor) {
      backendsFor = list;
      backendEntries = new ReadOnlyTable[list.size()];
      ReadOnlyTable all = new ReadOnlyTable();
      for (int i = 0; i < list.size(); i++) {
        LuaTable entry = LuaTables.backend(list.get(i));
        entry.rawset("labels", ReadOnlyTable.copyOf((LuaTable) entry.rawget("labels")));
        backendEntries[i] = ReadOnlyTable.copyOf(entry);
        all.replace(LuaValue.valueOf(list.get(i).name()), backendEntries[i]);
      }
      backendsTable = all;
    }
    for (int i = 0; i < backendEntries.length; i++) {
      backendEntries[i].replace(HEALTHY, LuaValue.valueOf(list.get(i).healthy()));
    }
    return backendsTable;
  }

  private static final LuaValue HEALTHY = LuaValue.valueOf("healthy");
  private List<? extends BackendView> backendsFor;
  private ReadOnlyTable[] backendEntries;
  private LuaTable backendsTable;

  private static VarArgFunction fn(Helpers.Body body) {
    return Helpers.fn(body);
  }
}
