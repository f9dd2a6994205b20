package dev.keystone.catalog;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An entry's tests: requests and the decisions expected of them, written once in the engine
 * protocol's terms and run the same way against every language the entry is offered in (the
 * embedded Lua runtime in-process, the Node.js and Python engines over HTTP). Each test is a
 * tenant of its own (its key/value store starts empty) with its own parameters; its requests run
 * in order, so a rate limit's tests can count.
 *
 * <pre>
 * { "tests": [ { "name": "...", "params": {...}, "backends": [{ "name": "a", "labels": {...} }],
 *                "requests": [ { "method": "GET", "path": "/", "headers": { "X-Key": "k" },
 *                                "expect": { "decision": "route", "backends": ["a"] },
 *                                "response": { "status": 200, "backend": "a", "headers": {...} },
 *                                "expect_response": { "status": 200, "headers": {...} } } ] } ] }
 * </pre>
 * {@code expect} is matched as a subset of the engine's answer: every key it names must be there
 * with the same value (objects compared key by key the same way, lists and scalars exactly).
 */
public final class EntryTests {

  /** Calls an engine: {@code endpoint} is {@code decide} or {@code respond}, the body a protocol request. */
  public interface Engine {
    JsonObject call(String endpoint, JsonObject body) throws Exception;
  }

  /** One request's outcome; {@code problem} is null when it passed. */
  public record Result(String test, int request, String problem) {
    public boolean passed() {
      return problem == null;
    }

    @Override
    public String toString() {
      return (passed() ? "ok   " : "FAIL ") + test + " #" + (request + 1) + (passed() ? "" : ": " + problem);
    }
  }

  private EntryTests() {
  }

  /** The tests file of {@code e}, checked for shape. */
  public static JsonArray of(Entry e) throws CatalogException {
    String where = e.id() + "/" + e.manifest().tests();
    JsonObject j = Manifest.Json.object(where, e.files().get(e.manifest().tests()));
    if (!(j.getValue("tests") instanceof JsonArray tests) || tests.isEmpty()) {
      throw new CatalogException(where + ": {\"tests\": [...]} with at least one test expected");
    }
    for (int i = 0; i < tests.size(); i++) {
      if (!(tests.getValue(i) instanceof JsonObject t) || !(t.getValue("name") instanceof String)
          || !(t.getValue("requests") instanceof JsonArray rs) || rs.isEmpty()) {
        throw new CatalogException(where + ": tests[" + i + "]: needs a name and a non-empty requests list");
      }
      for (int k = 0; k < rs.size(); k++) {
        if (!(rs.getValue(k) instanceof JsonObject r) || !(r.getValue("path") instanceof String)
            || !(r.getValue("expect") instanceof JsonObject)) {
          throw new CatalogException(where + ": tests[" + i + "].requests[" + k + "]: needs a path and an expect object");
        }
      }
    }
    return tests;
  }

  /**
   * A tenant-name prefix for one run: random, so that a run's tenants start with empty stores on
   * an engine that outlives it, and so that nothing in a request says "this is a test". (Tests are
   * a check of what an entry does, not a security control: a script written to behave only under
   * test can still tell by other means, such as the time. Signatures and review are the control.)
   */
  public static String tenantPrefix() {
    return "t" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() >>> 16);
  }

  /**
   * Runs every test of {@code e} as script {@code script} on {@code engine}; tenants are named
   * {@code tenantPrefix-N} (make the prefix unique per run when the engine outlives it).
   */
  public static List<Result> run(Entry e, String script, Engine engine, String tenantPrefix) throws CatalogException {
    List<Result> results = new ArrayList<>();
    JsonArray tests = of(e);
    for (int i = 0; i < tests.size(); i++) {
      JsonObject t = tests.getJsonObject(i);
      String name = t.getString("name");
      JsonObject params;
      try {
        params = ParamsSchema.check(e.manifest(), t.getJsonObject("params"));
      } catch (CatalogException x) {
        results.add(new Result(name, 0, "the test's params are refused: " + x.getMessage()));
        continue;
      }
      String tenant = tenantPrefix + "-" + i;
      JsonArray backends = backends(t.getJsonArray("backends", new JsonArray()));
      JsonArray requests = t.getJsonArray("requests");
      for (int k = 0; k < requests.size(); k++) {
        JsonObject r = requests.getJsonObject(k);
        // the gateway's request id format, unless the test names one (to expect it in an answer)
        JsonObject request = request(r, r.getValue("request_id") instanceof String id ? id
            : String.format("%016x%016x", java.util.concurrent.ThreadLocalRandom.current().nextLong(),
                java.util.concurrent.ThreadLocalRandom.current().nextLong()));
        JsonObject call = new JsonObject().put("version", 1).put("tenant", tenant).put("script", script)
            .put("params", params).put("request", request).put("backends", backends);
        results.add(new Result(name, k, step(engine, call, r)));
      }
    }
    return results;
  }

  private static String step(Engine engine, JsonObject call, JsonObject r) {
    try {
      JsonObject answer = engine.call("decide", call);
      String mismatch = mismatch("", r.getJsonObject("expect"), answer);
      if (mismatch != null) {
        return "decide: " + mismatch + " (answer: " + answer.encode() + ")";
      }
      if (r.getValue("response") instanceof JsonObject head && r.getValue("expect_response") instanceof JsonObject want) {
        JsonObject resp = new JsonObject().put("status", head.getInteger("status", 200))
            .put("backend", head.getString("backend", "")).put("headers", pairs(head.getJsonObject("headers", new JsonObject())));
        JsonObject rc = call.copy().put("response", resp);
        JsonObject got = Boolean.TRUE.equals(answer.getValue("on_response")) ? engine.call("respond", rc)
            : new JsonObject().put("version", 1).put("status", resp.getInteger("status"));
        String m2 = mismatch("", want, got);
        if (m2 != null) {
          return "respond: " + m2 + " (answer: " + got.encode() + ")";
        }
      }
      return null;
    } catch (Exception x) {
      return "the engine call failed: " + x;
    }
  }

  private static JsonObject request(JsonObject r, String id) {
    JsonObject q = new JsonObject().put("method", r.getString("method", "GET")).put("path", r.getString("path"))
        .put("request_id", id).put("headers", pairs(r.getJsonObject("headers", new JsonObject())));
    for (String k : List.of("query", "host", "client_ip", "raw_path", "body")) {
      if (r.getValue(k) instanceof String s) {
        q.put(k, s);
      }
    }
    return q;
  }

  private static JsonArray pairs(JsonObject headers) {
    JsonArray a = new JsonArray();
    for (Map.Entry<String, Object> h : headers) {
      a.add(new JsonArray().add(h.getKey()).add(String.valueOf(h.getValue())));
    }
    return a;
  }

  private static JsonArray backends(JsonArray given) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < given.size(); i++) {
      JsonObject b = given.getJsonObject(i);
      out.add(new JsonObject().put("name", b.getString("name")).put("url", b.getString("url", "http://127.0.0.1:" + (9000 + i)))
          .put("healthy", b.getBoolean("healthy", true)).put("weight", 1).put("labels", b.getJsonObject("labels", new JsonObject())));
    }
    return out;
  }

  /** Null when {@code got} has everything {@code want} says; else what differs, at which key. */
  static String mismatch(String at, Object want, Object got) {
    if (want instanceof JsonObject w) {
      if (!(got instanceof JsonObject g)) {
        return (at.isEmpty() ? "the answer" : at) + ": expected an object, got " + got;
      }
      for (String k : w.fieldNames()) {
        if (!g.containsKey(k)) {
          return (at.isEmpty() ? "" : at + ".") + k + ": missing, expected " + w.getValue(k);
        }
        String m = mismatch(at.isEmpty() ? k : at + "." + k, w.getValue(k), g.getValue(k));
        if (m != null) {
          return m;
        }
      }
      return null;
    }
    return same(want, got) ? null : at + ": expected " + want + ", got " + got;
  }

  private static boolean same(Object a, Object b) {
    if (a instanceof Number x && b instanceof Number y) {
      return new BigDecimal(x.toString()).compareTo(new BigDecimal(y.toString())) == 0;
    }
    if (a instanceof JsonArray x && b instanceof JsonArray y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!same(x.getValue(i), y.getValue(i))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof JsonObject x && b instanceof JsonObject y) {
      return x.fieldNames().equals(y.fieldNames()) && x.fieldNames().stream().allMatch(k -> same(x.getValue(k), y.getValue(k)));
    }
    return a == null ? b == null : a.equals(b);
  }
}
