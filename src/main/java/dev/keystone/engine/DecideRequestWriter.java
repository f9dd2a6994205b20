package dev.keystone.engine;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.keystone.script.ScriptRequest;
import dev.keystone.script.BackendView;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes {@code POST /v1/decide} requests on the gateway's side, on the hot path of every
 * remote decision: streamed straight to bytes (no JSON tree per request), with each tenant's
 * backend list encoded once and reused while its members and their health stay the same. One per
 * {@link EngineClient}, so per event loop: not thread-safe.
 */
final class DecideRequestWriter {

  private static final JsonFactory JSON = new JsonFactory();

  /** A tenant's encoded backend list, valid for that list object and that health pattern. */
  private record EncodedBackends(List<? extends BackendView> list, long health, String json) {
  }

  private final Map<String, EncodedBackends> backends = new HashMap<>();
  private final ByteArrayBuilder out = new ByteArrayBuilder(1024);

  Buffer write(ScriptRequest r, String script, long deadlineMs) {
    return write(r, script, null, deadlineMs);
  }

  /** With a catalog script's {@code params} (a JSON object's text, made by the config loader), or null. */
  Buffer write(ScriptRequest r, String script, String params, long deadlineMs) {
    out.reset();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      start(g, r, script, params, deadlineMs);
      writeBody(g, r.body());
      g.writeEndObject();
      g.writeFieldName("backends");
      g.writeRawValue(encodedBackends(r.tenant(), r.backends()));
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // writing to memory: does not happen
    }
    return Buffer.buffer(out.toByteArray());
  }

  /** The {@code POST /v1/respond} request: the same request (no body, no backends) and the response head. */
  Buffer writeRespond(ScriptRequest r, String script, String params, long deadlineMs, String backend, int status,
                      List<Map.Entry<String, String>> headers) {
    out.reset();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      start(g, r, script, params, deadlineMs);
      g.writeEndObject();
      g.writeObjectFieldStart("response");
      g.writeNumberField("status", status);
      g.writeStringField("backend", backend);
      writeHeaders(g, headers);
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Buffer.buffer(out.toByteArray());
  }

  /** Opens the message and writes the request object up to its headers (left open). */
  private static void start(JsonGenerator g, ScriptRequest r, String script, String params, long deadlineMs) throws IOException {
    g.writeStartObject();
    g.writeNumberField("version", EngineProtocol.VERSION);
    g.writeStringField("tenant", r.tenant());
    g.writeStringField("script", script);
    g.writeNumberField("deadline_ms", deadlineMs);
    if (params != null) {
      g.writeFieldName("params");
      g.writeRawValue(params); // JSON the config loader encoded from the checked params
    }
    g.writeObjectFieldStart("request");
    g.writeStringField("method", r.method());
    g.writeStringField("path", r.path());
    g.writeStringField("raw_path", r.rawPath());
    g.writeStringField("query", r.query());
    g.writeStringField("host", r.host());
    g.writeStringField("client_ip", r.clientIp());
    g.writeStringField("request_id", r.requestId());
    writeHeaders(g, r.headers());
  }

  private static void writeHeaders(JsonGenerator g, List<Map.Entry<String, String>> headers) throws IOException {
    g.writeArrayFieldStart("headers");
    for (Map.Entry<String, String> h : headers) {
      g.writeStartArray();
      g.writeString(h.getKey());
      g.writeString(h.getValue());
      g.writeEndArray();
    }
    g.writeEndArray();
  }

  /**
   * Text as {@code body} when it is valid UTF-8 (readable in logs and scripts), else
   * {@code body_base64}; also base64 for ASCII that JSON's escapes would make longer than base64
   * (1 MiB of control characters is 6 MiB of {@code \u0001}s: attack round 3, N3-4), where
   * both reach a script as the same string.
   */
  private static void writeBody(JsonGenerator g, byte[] body) throws IOException {
    if (body == null) {
      return;
    }
    long escaped = 0;
    boolean ascii = true;
    for (byte b : body) {
      ascii &= b >= 0;
      escaped += b < 0 || b >= 0x20 ? (b == '"' || b == '\\' ? 2 : 1) : (b == '\n' || b == '\r' || b == '\t' || b == '\b' || b == '\f' ? 2 : 6);
    }
    if (ascii && escaped > (body.length + 2L) / 3 * 4) {
      g.writeStringField("body_base64", Base64.getEncoder().encodeToString(body));
      return;
    }
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    try {
      g.writeStringField("body", utf8.decode(ByteBuffer.wrap(body)).toString());
    } catch (CharacterCodingException e) {
      g.writeStringField("body_base64", Base64.getEncoder().encodeToString(body));
    }
  }

  private String encodedBackends(String tenant, List<? extends BackendView> list) throws IOException {
    boolean cacheable = list.size() <= 64; // health as a bit pattern
    long health = 0;
    for (int i = 0; i < list.size() && cacheable; i++) {
      health |= list.get(i).healthy() ? 1L << i : 0;
    }
    EncodedBackends cached = backends.get(tenant);
    if (cacheable && cached != null && cached.list() == list && cached.health() == health) {
      return cached.json();
    }
    ByteArrayBuilder b = new ByteArrayBuilder(256);
    try (JsonGenerator g = JSON.createGenerator(b)) {
      g.writeStartArray();
      for (BackendView be : list) {
        g.writeStartObject();
        g.writeStringField("name", be.name());
        g.writeStringField("url", be.url());
        g.writeBooleanField("healthy", be.healthy());
        g.writeNumberField("weight", be.weight());
        g.writeObjectFieldStart("labels");
        for (Map.Entry<String, String> l : be.labels().entrySet()) {
          g.writeStringField(l.getKey(), l.getValue());
        }
        g.writeEndObject();
        g.writeEndObject();
      }
      g.writeEndArray();
    }
    String json = new String(b.toByteArray(), StandardCharsets.UTF_8);
    if (cacheable) {
      if (backends.size() > 10_000) {
        backends.clear(); // tenants renamed over many reloads: start over rather than grow
      }
      backends.put(tenant, new EncodedBackends(list, health, json));
    }
    return json;
  }
}
