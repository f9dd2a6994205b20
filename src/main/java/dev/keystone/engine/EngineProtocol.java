package dev.keystone.engine;

import dev.keystone.script.BackendView;
import dev.keystone.script.Decision;
import dev.keystone.script.EditRules;
import dev.keystone.script.KeyValueStore;
import dev.keystone.script.ScriptRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine protocol's JSON, version 1 (docs/engine-protocol.md): a decide request becomes a
 * {@link ScriptRequest}, a {@link Decision} becomes the answer ({@link CompatProtocol} has the
 * original engine's {@code /route/{tenant}} shapes). Anything malformed is an {@link IllegalArgumentException}
 * whose message names the field.
 */
public final class EngineProtocol {

  static final int VERSION = 1;

  private EngineProtocol() {
  }

  /** {@code script}: which script, by name. */
  static String scriptName(JsonObject body) {
    if (!(body.getValue("script") instanceof String s) || s.isEmpty()) {
      throw new IllegalArgumentException("script: required, the name of a script in the engine's directory");
    }
    return s;
  }

  /**
   * {@code deadline_ms}, optional: how long the gateway waits for the answer, so the call ends
   * within it (or within the engine's own deadline, if less); {@link Long#MAX_VALUE} when absent.
   */
  static long deadlineNanos(JsonObject body) {
    Object d = body.getValue("deadline_ms");
    if (d == null) {
      return Long.MAX_VALUE;
    }
    if (!(d instanceof Integer || d instanceof Long) || ((Number) d).longValue() < 1 || ((Number) d).longValue() > 3_600_000) {
      throw new IllegalArgumentException("deadline_ms: a whole number of milliseconds, 1 to 3600000");
    }
    return ((Number) d).longValue() * 1_000_000;
  }

  /**
   * {@code params}, optional: a catalog script's parameters (a JSON object, at most 16 levels deep
   * and 64 KiB), as its text; null when absent. The script sees them as {@code req.params}.
   */
  static String params(JsonObject body) {
    Object p = body.getValue("params");
    if (p == null && !body.containsKey("params")) {
      return null;
    }
    if (!(p instanceof JsonObject o)) {
      throw new IllegalArgumentException("params: a JSON object expected");
    }
    if (depth(o, 1) > dev.keystone.catalog.ParamsSchema.MAX_DEPTH) {
      throw new IllegalArgumentException("params: nested deeper than " + dev.keystone.catalog.ParamsSchema.MAX_DEPTH + " levels");
    }
    if (outOfRange(o)) {
      throw new IllegalArgumentException("params: a number out of range"); // 1e400: no script language holds it
    }
    String text = o.encode();
    // bytes of UTF-8, as every engine counts them; a character is at most 3 bytes of it
    if (text.length() > dev.keystone.catalog.ParamsSchema.MAX_BYTES / 3
        && text.getBytes(StandardCharsets.UTF_8).length > dev.keystone.catalog.ParamsSchema.MAX_BYTES) {
      throw new IllegalArgumentException("params: larger than " + dev.keystone.catalog.ParamsSchema.MAX_BYTES + " bytes");
    }
    return o.isEmpty() ? null : text;
  }

  /** Whether a number in the value is one a double cannot hold (infinite once parsed). */
  private static boolean outOfRange(Object v) {
    if (v instanceof Double d) {
      return d.isInfinite() || d.isNaN();
    }
    if (v instanceof java.math.BigDecimal b) {
      return Double.isInfinite(b.doubleValue());
    }
    if (v instanceof java.math.BigInteger b) {
      return Double.isInfinite(b.doubleValue());
    }
    if (v instanceof JsonObject o) {
      for (String k : o.fieldNames()) {
        if (outOfRange(o.getValue(k))) {
          return true;
        }
      }
    } else if (v instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        if (outOfRange(a.getValue(i))) {
          return true;
        }
      }
    }
    return false;
  }

  /** Levels of nesting of a JSON value: 1 for an object or list of plain values; stops counting past the limit. */
  private static int depth(Object v, int d) {
    if (d > dev.keystone.catalog.ParamsSchema.MAX_DEPTH) {
      return d;
    }
    int max = d;
    if (v instanceof JsonObject o) {
      for (String k : o.fieldNames()) {
        Object c = o.getValue(k); // nested maps and lists come wrapped as JsonObject / JsonArray
        if (c instanceof JsonObject || c instanceof JsonArray) {
          max = Math.max(max, depth(c, d + 1));
        }
      }
    } else if (v instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        Object c = a.getValue(i);
        if (c instanceof JsonObject || c instanceof JsonArray) {
          max = Math.max(max, depth(c, d + 1));
        }
      }
    }
    return max;
  }

  /** {@code tenant}: whose state and key/value store. */
  static String tenant(JsonObject body) {
    return required(body, "tenant");
  }

  /** The request of {@code POST /v1/decide}. */
  static ScriptRequest request(JsonObject body, KeyValueStore kv) {
    return request(body, backends(array(body, "backends")), kv);
  }

  /** The same, with the backends already parsed. */
  static ScriptRequest request(JsonObject body, List<? extends BackendView> backends, KeyValueStore kv) {
    JsonObject r = object(body, "request");
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    for (Object h : array(r, "headers")) {
      if (!(h instanceof JsonArray pair) || pair.size() != 2 || !(pair.getValue(0) instanceof String name)
          || !(pair.getValue(1) instanceof String value)) {
        throw new IllegalArgumentException("request.headers: each header is [name, value], two strings");
      }
      headers.add(new AbstractMap.SimpleEntry<>(name, value));
    }
    String path = required(r, "path");
    return new ScriptRequest(required(r, "method"), path, optional(r, "raw_path", path), optional(r, "query", null),
        optional(r, "host", null), optional(r, "client_ip", null), required(body, "tenant"),
        optional(r, "request_id", "-"), headers, backends, kv, body(r));
  }

  /** {@code request.body} (UTF-8 text) or {@code request.body_base64} (any bytes), or null. */
  static byte[] body(JsonObject r) {
    String text = optional(r, "body", null);
    if (text != null) {
      return text.getBytes(StandardCharsets.UTF_8);
    }
    String base64 = optional(r, "body_base64", null);
    if (base64 == null) {
      return null;
    }
    try {
      return Base64.getDecoder().decode(base64);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("request.body_base64: not base64: " + e.getMessage());
    }
  }

  static List<ReportedBackend> backends(JsonArray list) {
    List<ReportedBackend> out = new ArrayList<>();
    for (Object o : list) {
      if (!(o instanceof JsonObject b)) {
        throw new IllegalArgumentException("backends: each backend is an object");
      }
      Map<String, String> labels = new HashMap<>();
      Object l = b.getValue("labels");
      if (l != null && !(l instanceof JsonObject)) {
        throw new IllegalArgumentException("backends: labels: an object of strings");
      }
      if (l != null) {
        for (Map.Entry<String, Object> e : (JsonObject) l) {
          if (!(e.getValue() instanceof String v)) {
            throw new IllegalArgumentException("backends: labels." + e.getKey() + ": a string");
          }
          labels.put(e.getKey(), v);
        }
      }
      Object weight = b.getValue("weight", 1);
      if (!(weight instanceof Integer w) || w < 1) {
        throw new IllegalArgumentException("backends: weight: a whole number of at least 1");
      }
      String name = required(b, "name");
      Object healthy = b.getValue("healthy");
      if (healthy != null && !(healthy instanceof Boolean)) {
        throw new IllegalArgumentException("backends: healthy: true or false");
      }
      if (healthy == null) {
        // The original format's "health" was a check path or a status: only false means down.
        healthy = !Boolean.FALSE.equals(b.getValue("health")) && !"unhealthy".equals(b.getValue("health"));
      }
      try {
        out.add(new ReportedBackend(name, optional(b, "url", "http://127.0.0.1:1"), w, labels,
            !Boolean.FALSE.equals(healthy)));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("backends: " + name + ": " + e.getMessage());
      }
    }
    return out;
  }

  /** The answer of {@code POST /v1/decide}. */
  static JsonObject answer(Decision d) {
    JsonObject out = new JsonObject().put("version", VERSION);
    switch (d.kind()) {
      case CONTINUE -> out.put("decision", "continue");
      case ROUTE -> out.put("decision", "route").put("target", d.target())
          .put("backends", new JsonArray(d.candidates().stream().map(BackendView::name).toList()));
      case RESPOND -> out.put("decision", "respond").put("status", d.status()).put("body", d.body())
          .put("headers", new JsonObject(new HashMap<>(d.responseHeaders())));
      case REJECT -> out.put("decision", "reject").put("status", d.status()).put("reason", d.reason());
    }
    JsonObject edits = new JsonObject();
    if (!d.headerEdits().isEmpty()) {
      JsonObject headers = new JsonObject();
      d.headerEdits().forEach(headers::put); // null removes
      edits.put("headers", headers);
    }
    if (d.path() != null) {
      edits.put("path", d.path());
    }
    if (d.query() != null) {
      edits.put("query", d.query());
    }
    if (!edits.isEmpty()) {
      out.put("edits", edits);
    }
    return out;
  }

  /** A script failure reported by the engine (its message names the script's file and line). */
  public static final class ScriptError extends Exception {
    private final boolean limit;

    ScriptError(String message, boolean limit) {
      super(message, null, false, false);
      this.limit = limit;
    }

    public boolean limit() {
      return limit;
    }
  }

  /**
   * The gateway's side: the engine's answer as a decision over the tenant's {@code backends}. An
   * engine is not trusted: an answer that is malformed, or that edits what a script may not
   * (framing headers, CR/LF in values, a path that is not one), is a script failure.
   */
  public static Decision decision(JsonObject a, List<? extends BackendView> backends) throws ScriptError {
    try {
      return parseDecision(a, backends);
    } catch (ClassCastException | IllegalArgumentException e) {
      throw new ScriptError("malformed engine answer: " + e.getMessage(), false);
    }
  }

  private static String checked(String what, String value, String problem) {
    if (problem != null) {
      throw new IllegalArgumentException(what + ": " + problem);
    }
    return value;
  }

  private static Decision parseDecision(JsonObject a, List<? extends BackendView> backends) throws ScriptError {
    return parseKind(a, backends).withResponsePhase(Boolean.TRUE.equals(a.getValue("on_response")));
  }

  private static Decision parseKind(JsonObject a, List<? extends BackendView> backends) throws ScriptError {
    String kind = a.getString("decision");
    if ("error".equals(kind)) {
      throw new ScriptError(a.getString("error", "script failed in the engine"), a.getBoolean("limit", false));
    }
    Map<String, String> edits = null;
    String path = null;
    String query = null;
    JsonObject e = a.getJsonObject("edits");
    if (e != null) {
      edits = new java.util.LinkedHashMap<>();
      JsonObject h = e.getJsonObject("headers", new JsonObject());
      for (String name : h.fieldNames()) {
        Object v = h.getValue(name);
        checked("edits.headers", name, EditRules.nameProblem(name));
        edits.put(name, v == null ? null : checked("edits.headers." + name, (String) v, EditRules.valueProblem((String) v)));
      }
      path = e.getString("path");
      query = e.getString("query");
      if (path != null) {
        checked("edits.path", path, EditRules.pathProblem(path));
      }
      if (query != null) {
        checked("edits.query", query, EditRules.queryProblem(query));
      }
    }
    if (kind == null || kind.equals("continue")) {
      return Decision.of(Decision.Kind.CONTINUE, null, null, 0, null, null, null, edits, path, query);
    }
    switch (kind) {
      case "route" -> {
        // On every remote decision: plain loops, and the target's text only when it is missing.
        JsonArray names = a.getJsonArray("backends", new JsonArray());
        List<BackendView> candidates = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
          Object name = names.getValue(i);
          for (BackendView b : backends) {
            if (b.name().equals(name)) {
              candidates.add(b);
              break;
            }
          }
        }
        if (candidates.isEmpty()) {
          throw new ScriptError("engine routed to " + names + ", which the tenant does not have", false);
        }
        String target = a.getString("target");
        return Decision.of(Decision.Kind.ROUTE, candidates, target != null ? target : names.encode(),
            0, null, null, null, edits, path, query);
      }
      case "respond", "reject" -> {
        int status = a.getInteger("status", 0);
        if (status < (kind.equals("reject") ? 400 : 100) || status > 599) {
          throw new ScriptError("engine answered " + kind + " with status " + status, false);
        }
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, Object> x : a.getJsonObject("headers", new JsonObject())) {
          checked("headers", x.getKey(), EditRules.nameProblem(x.getKey()));
          headers.put(x.getKey(), checked("headers." + x.getKey(), (String) x.getValue(), EditRules.valueProblem((String) x.getValue())));
        }
        return Decision.of(kind.equals("respond") ? Decision.Kind.RESPOND : Decision.Kind.REJECT, null, null, status,
            a.getString("body", ""), a.getString("reason", "rejected"), headers, edits, path, query);
      }
      default -> throw new ScriptError("engine answered an unknown decision '" + kind + "'", false);
    }
  }



  private static String required(JsonObject o, String key) {
    Object v = o.getValue(key);
    if (!(v instanceof String s) || s.isEmpty()) {
      throw new IllegalArgumentException(key + ": required, a non-empty string");
    }
    return s;
  }

  /** A string field that may be absent or null; any other type names the field. */
  private static String optional(JsonObject o, String key, String defaultValue) {
    Object v = o.getValue(key);
    if (v == null) {
      return defaultValue;
    }
    if (!(v instanceof String s)) {
      throw new IllegalArgumentException(key + ": a string");
    }
    return s;
  }

  private static JsonObject object(JsonObject o, String key) {
    Object v = o.getValue(key);
    if (!(v instanceof JsonObject j)) {
      throw new IllegalArgumentException(key + ": required, an object");
    }
    return j;
  }

  private static JsonArray array(JsonObject o, String key) {
    Object v = o.getValue(key);
    if (v == null) {
      return new JsonArray();
    }
    if (!(v instanceof JsonArray a)) {
      throw new IllegalArgumentException(key + ": a list");
    }
    return a;
  }
}
