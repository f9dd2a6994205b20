package dev.keystone.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keystone.script.Decision;
import dev.keystone.script.KeyValueStore;
import dev.keystone.script.LuaScript;
import dev.keystone.script.RequestScript;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.script.ScriptRequest;
import dev.keystone.script.ScriptState;
import dev.keystone.engine.ReportedBackend;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code keystone script test SCRIPT --request 'GET /path?q=1' -H 'Name: value' [--backends FILE]}:
 * runs a routing script once, outside the gateway, and prints its decision, so a script can be
 * checked before it is deployed. The backends file is a YAML list in the config's
 * {@code services:} form, plus an optional {@code healthy: false}.
 */
final class ScriptCommand {

  static final String USAGE = """
      usage: keystone script test SCRIPT [--request 'METHOD /path?query'] [-H 'Name: value']...
                                         [--backends FILE] [--host HOST] [--client-ip IP] [--tenant NAME]
        Runs SCRIPT's on_request (or on_route_request) once and prints the decision.
        --backends  YAML list: - { name: canary-42, url: "http://10.0.0.9", labels: { version: canary }, healthy: true }
      """;

  private ScriptCommand() {
  }

  /** Returns the exit code: 0 decided, 1 the script failed, 2 bad usage. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    try {
      return test(args, out);
    } catch (IllegalArgumentException | IOException e) {
      err.println("keystone script: " + e.getMessage());
      err.print(USAGE);
      return 2;
    } catch (LuaScript.SyntaxError e) {
      err.println(e.getMessage());
      return 1;
    } catch (ScriptState.ScriptFailure e) {
      out.println("script failed" + (e.limit() ? " (limit)" : "") + ": " + e.getMessage());
      return 1;
    }
  }

  private static int test(String[] args, PrintStream out) throws IOException, LuaScript.SyntaxError, ScriptState.ScriptFailure {
    if (args.length < 2 || !args[0].equals("test")) {
      throw new IllegalArgumentException("expected: script test SCRIPT ...");
    }
    Path file = Path.of(args[1]);
    String request = "GET /";
    String host = "localhost";
    String clientIp = "127.0.0.1";
    String tenant = "test";
    Path backendsFile = null;
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[++i] : null;
      if (v == null) {
        throw new IllegalArgumentException(a + " needs a value");
      }
      switch (a) {
        case "--request", "-X" -> request = v;
        case "-H", "--header" -> {
          int colon = v.indexOf(':');
          if (colon <= 0) {
            throw new IllegalArgumentException("a header is 'Name: value', got '" + v + "'");
          }
          headers.add(new AbstractMap.SimpleEntry<>(v.substring(0, colon).trim(), v.substring(colon + 1).trim()));
        }
        case "--backends" -> backendsFile = Path.of(v);
        case "--host" -> host = v;
        case "--client-ip" -> clientIp = v;
        case "--tenant" -> tenant = v;
        default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
      }
    }
    String[] line = request.trim().split("\\s+", 2);
    if (line.length != 2 || !line[1].startsWith("/")) {
      throw new IllegalArgumentException("--request is 'METHOD /path?query', got '" + request + "'");
    }
    String target = line[1];
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    String query = q < 0 ? null : target.substring(q + 1);

    String name = file.getFileName().toString().replaceFirst("\\.lua$", "");
    LuaScript script = LuaScript.compile(name, file.toString(), LuaScript.read(file));
    ScriptEnvironment env = ScriptEnvironment.system(Clock.systemUTC());
    RequestScript rs = new RequestScript(script, env);
    List<ReportedBackend> backends = backendsFile == null ? List.of() : backends(backendsFile);
    ScriptRequest req = new ScriptRequest(line[0].toUpperCase(java.util.Locale.ROOT), path, path, query, host,
        clientIp, tenant, "script-test", headers, backends, new KeyValueStore(KeyValueStore.Limits.DEFAULT, Clock.systemUTC()));
    print(rs.decide(req), out);
    return 0;
  }

  private static List<ReportedBackend> backends(Path file) throws IOException {
    List<?> items = new ObjectMapper(new YAMLFactory()).readValue(file.toFile(), List.class);
    List<ReportedBackend> out = new ArrayList<>();
    for (Object o : items) {
      if (!(o instanceof Map<?, ?> m) || m.get("name") == null) {
        throw new IllegalArgumentException(file + ": each backend needs at least a name");
      }
      Map<String, String> labels = new java.util.LinkedHashMap<>();
      if (m.get("labels") instanceof Map<?, ?> l) {
        l.forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
      }
      Object weight = m.get("weight");
      out.add(new ReportedBackend(String.valueOf(m.get("name")),
          String.valueOf(m.get("url") == null ? "http://127.0.0.1:1" : m.get("url")),
          weight == null ? 1 : Integer.parseInt(String.valueOf(weight)), labels, !Boolean.FALSE.equals(m.get("healthy"))));
    }
    return out;
  }

  private static void print(Decision d, PrintStream out) {
    switch (d.kind()) {
      case CONTINUE -> out.println("decision: none (round-robin over the tenant's healthy backends)");
      case ROUTE -> out.println("decision: route_to " + d.target() + " -> "
          + d.candidates().stream().map(b -> b.name() + (b.healthy() ? "" : " (unhealthy)")).toList());
      case RESPOND -> {
        out.println("decision: respond " + d.status());
        d.responseHeaders().forEach((k, v) -> out.println("  " + k + ": " + v));
        out.println("  body: " + d.body());
      }
      case REJECT -> out.println("decision: reject " + d.status() + " " + d.reason());
    }
    d.headerEdits().forEach((k, v) -> out.println(v == null ? "remove header: " + k : "set header: " + k + ": " + v));
    if (d.path() != null) {
      out.println("path: " + d.path());
    }
    if (d.query() != null) {
      out.println("query: " + d.query());
    }
  }
}
