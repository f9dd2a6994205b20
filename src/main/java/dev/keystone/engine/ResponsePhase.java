package dev.keystone.engine;

import dev.keystone.script.ResponseEdits;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The optional second call of the engine protocol, {@code POST /v1/respond}: when a decide answer
 * says {@code "on_response": true}, the gateway sends the backend's response head, and the
 * script's {@code on_response} answers with a new status and header edits. Scripts without
 * {@code on_response} cost no second call.
 */
public final class ResponsePhase {

  private ResponsePhase() {
  }

  /** The backend's response head, as the engine receives it. */
  record Head(int status, String backend, List<Map.Entry<String, String>> headers) {
  }

  /** Engine side: {@code response} of a respond request. */
  static Head head(JsonObject body) {
    Object r = body.getValue("response");
    if (!(r instanceof JsonObject response)) {
      throw new IllegalArgumentException("response: required, an object");
    }
    if (!(response.getValue("status") instanceof Integer status) || status < 100 || status > 599) {
      throw new IllegalArgumentException("response.status: required, a status between 100 and 599");
    }
    Object backend = response.getValue("backend", "");
    if (!(backend instanceof String name)) {
      throw new IllegalArgumentException("response.backend: a string");
    }
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    Object list = response.getValue("headers", new JsonArray());
    if (!(list instanceof JsonArray pairs)) {
      throw new IllegalArgumentException("response.headers: a list of [name, value]");
    }
    for (Object h : pairs) {
      if (!(h instanceof JsonArray pair) || pair.size() != 2 || !(pair.getValue(0) instanceof String n)
          || !(pair.getValue(1) instanceof String v)) {
        throw new IllegalArgumentException("response.headers: each header is [name, value], two strings");
      }
      headers.add(new AbstractMap.SimpleEntry<>(n, v));
    }
    return new Head(status, name, headers);
  }

  /** Engine side: what {@code on_response} changed. */
  static JsonObject answer(ResponseEdits e) {
    JsonObject headers = new JsonObject();
    e.headerEdits().forEach(headers::put);
    return new JsonObject().put("version", EngineProtocol.VERSION).put("status", e.status()).put("headers", headers);
  }

  /** Gateway side: the engine's answer as edits of the response whose status was {@code original}. */
  public static ResponseEdits edits(JsonObject a, int original) throws EngineProtocol.ScriptError {
    if ("error".equals(a.getValue("decision"))) {
      throw new EngineProtocol.ScriptError(String.valueOf(a.getValue("error", "on_response failed in the engine")),
          Boolean.TRUE.equals(a.getValue("limit")));
    }
    try {
      Object status = a.getValue("status", original);
      if (!(status instanceof Integer s)) {
        throw new IllegalArgumentException("status: a number");
      }
      Map<String, String> headers = new LinkedHashMap<>();
      for (Map.Entry<String, Object> h : a.getJsonObject("headers", new JsonObject())) {
        if (h.getValue() != null && !(h.getValue() instanceof String)) {
          throw new IllegalArgumentException("headers." + h.getKey() + ": a string or null");
        }
        headers.put(h.getKey(), (String) h.getValue());
      }
      return ResponseEdits.checked(original, s, headers);
    } catch (ClassCastException | IllegalArgumentException e) {
      throw new EngineProtocol.ScriptError("malformed engine answer to /v1/respond: " + e.getMessage(), false);
    }
  }
}
