package dev.keystone.app;

import dev.keystone.admin.AdminToken;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * {@code keystone status}, {@code keystone reload} and {@code keystone backends drain|undrain NAME}:
 * the dashboard's actions from a shell, through the admin API (so they work on any gateway whose
 * admin listener this machine reaches). Exit codes: 0 done, 1 refused (invalid config, unknown
 * backend), 2 usage, 3 gateway unreachable or token refused.
 */
final class AdminCommand {

  static final String USAGE = """
      usage: keystone status [FILTER] [--json] [OPTIONS]   (FILTER: part of a tenant's name, domain or path)
             keystone reload [OPTIONS]
             keystone certs [--json] [OPTIONS]   (the certificates served over TLS, soonest to expire first)
             keystone certs renew TENANT [--revoke] [OPTIONS]   (order a tls: auto certificate now; revoke the old one)
             keystone backends drain|undrain NAME [--tenant TENANT] [OPTIONS]
             keystone rollout start TENANT --canary BACKEND [--steps 5,25,50,100] [--interval 2m]
                      [--max-5xx 1%] [--max-p99 300ms] [--min-requests 20] [--pin-header H | --pin-cookie C]
             keystone rollout status [TENANT] [--json] | pause|resume|abort|promote TENANT   (docs/rollouts.md)

        OPTIONS: --admin URL         admin listener (default $KEYSTONE_ADMIN_URL or http://127.0.0.1:9901)
                 --token-file FILE   file holding the admin token (default: $KEYSTONE_ADMIN_TOKEN, else the
                                     file a gateway writes when it generated its token)
      """;

  private final PrintStream out;
  private final PrintStream err;
  private final Function<String, String> env;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  AdminCommand(PrintStream out, PrintStream err, Function<String, String> env) {
    this.out = out;
    this.err = err;
    this.env = env;
  }

  /** Runs {@code args} (the command first); returns the exit code. */
  int run(String[] args) {
    List<String> rest = new ArrayList<>();
    String admin = env.apply("KEYSTONE_ADMIN_URL");
    Path tokenFile = null;
    String tenant = null;
    boolean json = false;
    boolean revoke = false;
    Map<String, String> rolloutOptions = new java.util.LinkedHashMap<>();
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--admin" -> admin = value(args, ++i);
          case "--token-file" -> tokenFile = Path.of(value(args, ++i));
          case "--tenant" -> tenant = value(args, ++i);
          case "--json" -> json = true;
          case "--revoke" -> revoke = true;
          case "-h", "--help" -> {
            out.print(USAGE);
            return 0;
          }
          default -> {
            if (args[i].startsWith("--") && !rest.isEmpty() && rest.get(0).equals("rollout")
                && RolloutCommand.OPTIONS.contains(args[i])) {
              rolloutOptions.put(args[i], value(args, ++i));
              continue;
            }
            if (args[i].startsWith("--")) {
              throw new IllegalArgumentException("unknown option " + args[i]);
            }
            rest.add(args[i]);
          }
        }
      }
      URI base = URI.create(admin == null || admin.isBlank() ? "http://127.0.0.1:9901" : admin.replaceAll("/+$", ""));
      if (base.getHost() == null || base.getPort() == 0) {
        throw new IllegalArgumentException("--admin needs a URL such as http://127.0.0.1:9901");
      }
      String token = token(tokenFile, base);
      String cmd = rest.isEmpty() ? "" : rest.get(0);
      return switch (cmd) {
        case "status" -> {
          if (rest.size() > 2) {
            throw new IllegalArgumentException("expected: keystone status [FILTER]");
          }
          yield status(base, token, json, rest.size() == 2 ? rest.get(1) : null);
        }
        case "reload" -> reload(base, token);
        case "certs" -> {
          if (rest.size() == 1) {
            yield certs(base, token, json);
          }
          if (rest.size() != 3 || !rest.get(1).equals("renew")) {
            throw new IllegalArgumentException("expected: keystone certs [renew TENANT [--revoke]]");
          }
          yield renew(base, token, rest.get(2), revoke);
        }
        case "backends" -> {
          if (rest.size() != 3 || !(rest.get(1).equals("drain") || rest.get(1).equals("undrain"))) {
            throw new IllegalArgumentException("expected: keystone backends drain|undrain NAME");
          }
          yield drain(base, token, rest.get(1), rest.get(2), tenant);
        }
        case "rollout" -> new RolloutCommand(out, err, (method, path, body) -> call(base, token, method, path, body))
            .run(rest.subList(1, rest.size()), rolloutOptions, json);
        default -> throw new IllegalArgumentException("unknown command '" + cmd + "'");
      };
    } catch (IllegalArgumentException e) {
      err.println("keystone: " + e.getMessage());
      err.print(USAGE);
      return 2;
    } catch (Unreachable e) {
      err.println("keystone: " + e.getMessage());
      return 3;
    }
  }

  private int status(URI base, String token, boolean json, String filter) {
    JsonObject status = call(base, token, "GET", "/api/v1/status").body;
    JsonObject tenants = call(base, token, "GET", "/api/v1/tenants"
        + (filter == null ? "" : "?q=" + URLEncoder.encode(filter, StandardCharsets.UTF_8))).body;
    if (json) {
      out.println(new JsonObject().put("status", status).put("tenants", tenants.getJsonArray("tenants")).encodePrettily());
      return 0;
    }
    JsonObject cfg = status.getJsonObject("config");
    JsonObject b = status.getJsonObject("backends");
    out.printf("keystone %s, up %s, config version %d (%s)%n", status.getString("version"),
        uptime(status.getDouble("uptime_seconds")), cfg.getLong("version"), cfg.getString("source"));
    out.printf("%d tenant(s), backends: %d healthy of %d, %d drained; %d requests, %d in flight%n",
        status.getInteger("tenants"), b.getInteger("healthy"), b.getInteger("total"), b.getInteger("drained"),
        status.getJsonObject("requests").getLong("total"), status.getJsonObject("requests").getLong("in_flight"));
    for (Object o : tenants.getJsonArray("tenants")) {
      JsonObject t = (JsonObject) o;
      out.printf("%ntenant %s (%d requests)%n", t.getString("name"), t.getJsonObject("traffic").getLong("requests"));
      for (Object bo : t.getJsonArray("backends")) {
        JsonObject be = (JsonObject) bo;
        String state = be.getBoolean("drained") ? "DRAINED" : be.getBoolean("healthy") ? "healthy" : "UNHEALTHY";
        out.printf("  %-10s %-20s %s  %s%n", state, be.getString("name"), be.getString("url"), be.getString("last_reason", ""));
      }
    }
    return 0;
  }

  private int certs(URI base, String token, boolean json) {
    JsonObject list = call(base, token, "GET", "/api/v1/certificates").body;
    if (json) {
      out.println(list.encodePrettily());
      return 0;
    }
    if (list.getString("tls_listen") == null) {
      out.println("no TLS listener (tls_listen) in the running config");
      return 0;
    }
    out.printf("TLS listening on %s%n", list.getString("tls_listen"));
    for (Object o : list.getJsonArray("certificates")) {
      JsonObject c = (JsonObject) o;
      long days = c.getLong("days_left");
      out.printf("  %-20s %5d days%s  %s  %s%n", c.getBoolean("default") ? "(tls_default)" : c.getString("tenant"), days,
          days < 0 ? " EXPIRED" : days < 14 ? " SOON" : "", c.getString("not_after"), c.getJsonArray("names").encode());
    }
    return 0;
  }

  private int renew(URI base, String token, String tenant, boolean revoke) {
    Answer a = call(base, token, "POST", "/api/v1/certificates/" + URLEncoder.encode(tenant, StandardCharsets.UTF_8)
        .replace("+", "%20") + "/renew" + (revoke ? "?revoke=true" : ""));
    if (a.status != 202) {
      err.println("keystone: " + a.body.getString("error", "HTTP " + a.status));
      return 1;
    }
    out.println((revoke ? "revoking the certificate of " : "") + "ordering a new certificate for tenant " + tenant
        + ": see keystone certs, and the events (GET /api/v1/events) for the outcome");
    return 0;
  }

  private int reload(URI base, String token) {
    Answer a = call(base, token, "POST", "/api/v1/reload");
    if (a.body.getBoolean("applied", false)) {
      out.println("config version " + a.body.getLong("config_version") + " applied");
      return 0;
    }
    err.println("reload rejected, still serving config version " + a.body.getLong("config_version") + ":");
    JsonArray errors = a.body.getJsonArray("errors", new JsonArray());
    errors.forEach(e -> err.println("  " + e));
    return 1;
  }

  private int drain(URI base, String token, String action, String name, String tenant) {
    String path = "/api/v1/backends/" + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20") + "/" + action
        + (tenant == null ? "" : "?tenant=" + URLEncoder.encode(tenant, StandardCharsets.UTF_8));
    Answer a = call(base, token, "POST", path);
    if (a.status != 200) {
      err.println("keystone: " + a.body.getString("error", "HTTP " + a.status));
      return 1;
    }
    for (Object o : a.body.getJsonArray("affected")) {
      JsonObject m = (JsonObject) o;
      out.println((action.equals("drain") ? "drained " : "undrained ") + m.getString("backend") + " (" + m.getString("url")
          + ") in tenant " + m.getString("tenant"));
    }
    return 0;
  }

  private String token(Path tokenFile, URI base) {
    String fromEnv = env.apply(AdminToken.ENV);
    if (tokenFile == null && fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv.trim();
    }
    Path f = tokenFile != null ? tokenFile : AdminToken.defaultFile(base.getPort() < 0 ? 80 : base.getPort());
    try {
      return Files.readString(f).trim();
    } catch (IOException e) {
      throw new Unreachable("no admin token: set " + AdminToken.ENV + " or pass --token-file (cannot read " + f + ")");
    }
  }

  record Answer(int status, JsonObject body) {
  }

  private Answer call(URI base, String token, String method, String path) {
    return call(base, token, method, path, null);
  }

  /** {@code body}: a JSON document sent with the request, or null. */
  private Answer call(URI base, String token, String method, String path, String sent) {
    HttpRequest req = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .method(method, sent == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(sent))
        .build();
    HttpResponse<String> resp;
    try {
      resp = http.send(req, HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new Unreachable("cannot reach the admin API at " + base + " (is the gateway running? --admin URL)");
    } catch (IOException e) {
      throw new Unreachable("admin API at " + base + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unreachable("interrupted");
    }
    if (resp.statusCode() == 401) {
      throw new Unreachable("the admin API at " + base + " refused the token");
    }
    JsonObject body;
    try {
      body = new JsonObject(resp.body());
    } catch (DecodeException e) {
      throw new Unreachable(base + path + " answered " + resp.statusCode() + " without JSON: is that a Keystone admin listener?");
    }
    if (resp.statusCode() >= 500) {
      throw new Unreachable(base + path + " failed: " + body.getString("error", "HTTP " + resp.statusCode()));
    }
    return new Answer(resp.statusCode(), body);
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new IllegalArgumentException(args[i - 1] + " needs a value");
    }
    return args[i];
  }

  private static String uptime(double seconds) {
    long s = (long) seconds;
    return s >= 86400 ? s / 86400 + "d" + s % 86400 / 3600 + "h" : s >= 3600 ? s / 3600 + "h" + s % 3600 / 60 + "m"
        : s >= 60 ? s / 60 + "m" + s % 60 + "s" : s + "s";
  }

  /** The gateway could not be asked at all. */
  private static final class Unreachable extends RuntimeException {
    Unreachable(String message) {
      super(message);
    }
  }

  static final Map<String, Boolean> COMMANDS = Map.of("status", true, "reload", true, "backends", true, "certs", true,
      "rollout", true);
}
