package dev.keystone.engine;

import dev.keystone.script.Decision;
import dev.keystone.script.KeyValueStore;
import dev.keystone.script.ScriptRequest;
import dev.keystone.script.BackendView;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The original (v1.3) engine's JSON, kept for old deployments: {@code POST /route/{tenant}} with
 * {@code {method, path, host, headers, body, backends}}, answered with
 * {@code {selected_backend, modified_headers, modified_path, reject, reject_reason}}.
 */
final class CompatProtocol {

  private CompatProtocol() {
  }

  /** The original engine's request ({@code POST /route/{tenant}}). */
  static ScriptRequest request(String tenant, JsonObject body, KeyValueStore kv) {
    // The original format was loosely typed: null is absent, other values are taken as text.
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    Object h = body.getValue("headers");
    if (h instanceof JsonObject map) {
      map.forEach(e -> headers.add(new AbstractMap.SimpleEntry<>(e.getKey(), String.valueOf(e.getValue()))));
    }
    String path = loose(body, "path", "/");
    String text = loose(body, "body", null);
    Object list = body.getValue("backends");
    return new ScriptRequest(loose(body, "method", "GET"), path, path, null, loose(body, "host", null), null, tenant,
        "-", headers, EngineProtocol.backends(list instanceof JsonArray a ? a : new JsonArray()), kv,
        text == null ? null : text.getBytes(StandardCharsets.UTF_8));
  }

  private static String loose(JsonObject o, String key, String defaultValue) {
    Object v = o.getValue(key);
    return v == null ? defaultValue : v.toString();
  }

  /** The original engine's answer: {selected_backend, modified_headers, modified_path, reject, reject_reason}. */
  static JsonObject answer(Decision d) {
    JsonObject out = new JsonObject();
    if (d.kind() == Decision.Kind.ROUTE) {
      BackendView pick = d.candidates().stream().filter(BackendView::healthy).findFirst().orElse(d.candidates().get(0));
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
}
