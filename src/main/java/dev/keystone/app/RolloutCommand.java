package dev.keystone.app;

import io.vertx.core.json.JsonObject;

import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code keystone rollout ...}: a tenant's canary rollout from a shell or a CI job, through the
 * admin API (docs/rollouts.md). {@code status TENANT} exits 0 while the rollout is live or
 * promoted and 1 once it was rolled back or aborted, so a CI job can wait on it.
 */
final class RolloutCommand {

  /** The options a rollout takes, each with a value; sent as the plan's fields. */
  static final Set<String> OPTIONS = Set.of("--canary", "--steps", "--interval", "--max-5xx", "--max-p99",
      "--min-requests", "--pin-header", "--pin-cookie");

  interface Caller {
    AdminCommand.Answer call(String method, String path, String body);
  }

  private final PrintStream out;
  private final PrintStream err;
  private final Caller api;

  RolloutCommand(PrintStream out, PrintStream err, Caller api) {
    this.out = out;
    this.err = err;
    this.api = api;
  }

  int run(List<String> args, Map<String, String> options, boolean json) {
    String action = args.isEmpty() ? "" : args.get(0);
    if (!action.equals("start") && !options.isEmpty()) {
      throw new IllegalArgumentException("only rollout start takes " + String.join(", ", options.keySet()));
    }
    switch (action) {
      case "start" -> {
        if (args.size() != 2) {
          throw new IllegalArgumentException("expected: keystone rollout start TENANT --canary BACKEND [...]");
        }
        return show(api.call("POST", path(args.get(1)), plan(options).encode()), json, false);
      }
      case "status" -> {
        if (args.size() > 2) {
          throw new IllegalArgumentException("expected: keystone rollout status [TENANT]");
        }
        if (args.size() == 1) {
          AdminCommand.Answer a = api.call("GET", "/api/v1/rollouts", null);
          if (json) {
            out.println(a.body().encodePrettily());
          } else {
            a.body().getJsonArray("rollouts").forEach(o -> out.println(line((JsonObject) o)));
          }
          return 0;
        }
        return show(api.call("GET", path(args.get(1)), null), json, true);
      }
      case "pause", "resume", "abort", "promote" -> {
        if (args.size() != 2) {
          throw new IllegalArgumentException("expected: keystone rollout " + action + " TENANT");
        }
        return show(api.call("POST", path(args.get(1)) + "/" + action, null), json, false);
      }
      default -> throw new IllegalArgumentException("expected: keystone rollout start|status|pause|resume|abort|promote");
    }
  }

  private static String path(String tenant) {
    return "/api/v1/rollouts/" + URLEncoder.encode(tenant, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** The plan's JSON from the options: the gateway checks every field and names a bad one. */
  private static JsonObject plan(Map<String, String> options) {
    JsonObject p = new JsonObject();
    options.forEach((k, v) -> p.put(k.substring(2).replace('-', '_'), k.equals("--min-requests") ? number(v) : v));
    return p;
  }

  private static Object number(String v) {
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      return v; // (the gateway answers what is wrong with it)
    }
  }

  /** {@code judged}: exit 1 for a rollout rolled back or aborted (status, for CI), else 0 for any answer. */
  private int show(AdminCommand.Answer a, boolean json, boolean judged) {
    if (a.status() >= 300) {
      err.println("keystone: " + a.body().getString("error", "HTTP " + a.status()));
      return 1;
    }
    out.println(json ? a.body().encodePrettily() : line(a.body()));
    String state = a.body().getString("state");
    return judged && ("rolled_back".equals(state) || "aborted".equals(state)) ? 1 : 0;
  }

  /** "shop: canary v2 running, step 2 of 4 at 25% (since ...)" */
  private static String line(JsonObject r) {
    String reason = r.getString("reason", "");
    return r.getString("tenant") + ": canary " + r.getString("canary") + " " + r.getString("state").replace('_', ' ')
        + ", step " + r.getInteger("step") + " of " + r.getJsonArray("steps").size() + " at " + r.getInteger("percent")
        + "% (step since " + r.getString("step_started") + ")" + (reason.isEmpty() ? "" : ": " + reason);
  }
}
