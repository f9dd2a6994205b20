package dev.keystone.engine;

import dev.keystone.config.ServiceConfig;
import dev.keystone.script.Decision;
import dev.keystone.script.KeyValueStore;
import dev.keystone.script.ScriptRequest;
import dev.keystone.upstream.Backend;
import dev.keystone.upstream.BackendHealth;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine protocol's JSON, version 1 (docs/engine-protocol.md): a decide request becomes a
 * {@link ScriptRequest}, a {@link Decision} becomes the answer. Also the original engine's
 * {@code /route/{tenant}} shapes. Anything malformed is an {@link IllegalArgumentException}
 * whose message names the field.
 */
public final class EngineProtocol {

  static final int VERSION = 1;

  private EngineProtocol() {
  }

  /** The request of {@code POST /v1/decide}. */
  static ScriptRequest request(JsonObject body, KeyValueStore kv) {
    return request(body, backends(array(body, "backends")), kv);
  }

  /** The same, with the backends already parsed. */
  static ScriptRequest request(JsonObject body, List<Backend> backends, KeyValueStore kv) {
    JsonObject r = object(body, "request");
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    for (Object h : array(r, "headers")) {
      if (!(h instanceof JsonArray pair) || pair.size() != 2) {
        throw new IllegalArgumentException("request.headers: each header is [name, value]");
      }
      headers.add(new AbstractMap.SimpleEntry<>(pair.getString(0), pair.getString(1)));
    }
    String path = required(r, "path");
    return new ScriptRequest(required(r, "method"), path, r.getString("raw_path", path), r.getString("query"),
        r.getString("host"), r.getString("client_ip"), required(body, "tenant"), r.getString("request_id", "-"),
        headers, backends, kv, body(r));
  }

  /** {@code request.body} (UTF-8 text) or {@code request.body_base64} (any bytes), or null. */
  static byte[] body(JsonObject r) {
    String text = r.getString("body");
    if (text != null) {
      return text.getBytes(StandardCharsets.UTF_8);
    }
    String base64 = r.getString("body_base64");
    if (base64 == null) {
      return null;
    }
    try {
      return Base64.getDecoder().decode(base64);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("request.body_base64: not base64: " + e.getMessage());
    }
  }

  static List<Backend> backends(JsonArray list) {
    List<Backend> out = new ArrayList<>();
    for (Object o : list) {
      if (!(o instanceof JsonObject b)) {
        throw new IllegalArgumentException("backends: each backend is an object");
      }
      Map<String, String> labels = new HashMap<>();
      JsonObject l = b.getJsonObject("labels", new JsonObject());
      l.forEach(e -> labels.put(e.getKey(), String.valueOf(e.getValue())));
      ServiceConfig s = new ServiceConfig(required(b, "name"), b.getString("url", "http://127.0.0.1:1"), "/",
          b.getInteger("weight", 1), labels);
      BackendHealth health = new BackendHealth();
      Object healthy = b.getValue("healthy", b.getValue("health", Boolean.TRUE));
      health.record(!Boolean.FALSE.equals(healthy), "reported by the gateway", Instant.EPOCH);
      try {
        out.add(new Backend(s, health));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("backends: " + s.name() + ": " + e.getMessage());
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
          .put("backends", new JsonArray(d.candidates().stream().map(Backend::name).toList()));
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

  /** The gateway's side: the engine's answer as a decision over the tenant's {@code backends}. */
  public static Decision decision(JsonObject a, List<Backend> backends) throws ScriptError {
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
        edits.put(name, v == null ? null : String.valueOf(v));
      }
      path = e.getString("path");
      query = e.getString("query");
    }
    if (kind == null || kind.equals("continue")) {
      return Decision.of(Decision.Kind.CONTINUE, null, null, 0, null, null, null, edits, path, query);
    }
    switch (kind) {
      case "route" -> {
        List<Backend> candidates = new ArrayList<>();
        for (Object name : a.getJsonArray("backends", new JsonArray())) {
          backends.stream().filter(b -> b.name().equals(name)).findFirst().ifPresent(candidates::add);
        }
        if (candidates.isEmpty()) {
          throw new ScriptError("engine routed to " + a.getValue("backends") + ", which the tenant does not have", false);
        }
        return Decision.of(Decision.Kind.ROUTE, candidates, a.getString("target", String.valueOf(a.getValue("backends"))),
            0, null, null, null, edits, path, query);
      }
      case "respond", "reject" -> {
        int status = a.getInteger("status", 0);
        if (status < (kind.equals("reject") ? 400 : 100) || status > 599) {
          throw new ScriptError("engine answered " + kind + " with status " + status, false);
        }
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        a.getJsonObject("headers", new JsonObject()).forEach(x -> headers.put(x.getKey(), String.valueOf(x.getValue())));
        return Decision.of(kind.equals("respond") ? Decision.Kind.RESPOND : Decision.Kind.REJECT, null, null, status,
            a.getString("body", ""), a.getString("reason", "rejected"), headers, edits, path, query);
      }
      default -> throw new ScriptError("engine answered an unknown decision '" + kind + "'", false);
    }
  }

  /** The original engine's request ({@code POST /route/{tenant}}). */
  static ScriptRequest compatRequest(String tenant, JsonObject body, KeyValueStore kv) {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    body.getJsonObject("headers", new JsonObject())
        .forEach(e -> headers.add(new AbstractMap.SimpleEntry<>(e.getKey(), String.valueOf(e.getValue()))));
    String path = body.getString("path", "/");
    return new ScriptRequest(body.getString("method", "GET"), path, path, null, body.getString("host"), null, tenant,
        "-", headers, backends(body.getJsonArray("backends", new JsonArray())), kv,
        body.getString("body") == null ? null : body.getString("body").getBytes(StandardCharsets.UTF_8));
  }

  /** The original engine's answer: {selected_backend, modified_headers, modified_path, reject, reject_reason}. */
  static JsonObject compatAnswer(Decision d) {
    JsonObject out = new JsonObject();
    if (d.kind() == Decision.Kind.ROUTE) {
      Backend pick = d.candidates().stream().filter(Backend::healthy).findFirst().orElse(d.candidates().get(0));
      out.put("selected_backend", pick.name());
    }
    if (d.kind() == Decision.Kind.REJECT || d.kind() == Decision.Kind.RESPOND) {
      out.put("reject", true).put("reject_reason", d.kind() == Decision.Kind.REJECT ? d.reason() : d.body());
    }
    if (!d.headerEdits().isEmpty()) {
      JsonObject headers = new JsonObject();
      d.headerEdits().forEach((k, v) -> {
        if (v != null) {
          headers.put(k, v); // the original format cannot remove a header
        }
      });
      out.put("modified_headers", headers);
    }
    if (d.path() != null) {
      out.put("modified_path", d.path());
    }
    return out;
  }

  private static String required(JsonObject o, String key) {
    Object v = o.getValue(key);
    if (!(v instanceof String s) || s.isEmpty()) {
      throw new IllegalArgumentException(key + ": required, a non-empty string");
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
