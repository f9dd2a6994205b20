package dev.keystone.admin;

import dev.keystone.rollout.RolloutPlan;
import dev.keystone.rollout.RolloutRequest;
import dev.keystone.rollout.Rollouts;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * The rollout endpoints (docs/rollouts.md): list and show, start with a JSON plan, and the
 * operator's actions. The work (judging, writing the store) runs on a worker thread.
 */
final class RolloutEndpoints {

  /** A plan is a few hundred bytes. */
  private static final long MAX_BODY = 16 * 1024;
  private final GatewayControl gateway;

  RolloutEndpoints(GatewayControl gateway) {
    this.gateway = gateway;
  }

  void routes(Router r) {
    r.get("/api/v1/rollouts").handler(ctx -> run(ctx, () -> {
      JsonArray out = new JsonArray();
      gateway.rollouts().list().forEach(v -> out.add(json(v)));
      return new JsonObject().put("rollouts", out);
    }, 200));
    r.get("/api/v1/rollouts/:tenant").handler(ctx -> run(ctx, () -> {
      Rollouts.View v = gateway.rollouts().get(ctx.pathParam("tenant"));
      if (v == null) {
        throw new Rollouts.Refused(404, "tenant " + ctx.pathParam("tenant") + " has no rollout");
      }
      return json(v);
    }, 200));
    r.delete("/api/v1/rollouts/:tenant").handler(ctx -> run(ctx, () -> {
      gateway.rollouts().forget(ctx.pathParam("tenant"));
      return new JsonObject().put("tenant", ctx.pathParam("tenant")).put("forgotten", true);
    }, 200));
    r.post("/api/v1/rollouts/:tenant").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY)).handler(this::start);
    r.post("/api/v1/rollouts/:tenant/:action").handler(ctx -> {
      String action = ctx.pathParam("action");
      if (!action.matches("pause|resume|abort|promote")) {
        AdminServer.json(ctx, 404, new JsonObject().put("error", "no such action: " + action
            + " (pause, resume, abort or promote)"));
        return;
      }
      run(ctx, () -> json(gateway.rollouts().act(ctx.pathParam("tenant"), action)), 200);
    });
  }

  private void start(RoutingContext ctx) {
    RolloutPlan plan;
    try {
      String text = ctx.body().asString();
      JsonObject body = text == null || text.isBlank() ? new JsonObject() : new JsonObject(text);
      plan = RolloutRequest.parse(ctx.pathParam("tenant"), body);
    } catch (DecodeException | ClassCastException e) {
      AdminServer.json(ctx, 400, new JsonObject().put("error", "the body must be a JSON object"));
      return;
    } catch (IllegalArgumentException e) {
      AdminServer.json(ctx, 400, new JsonObject().put("error", e.getMessage()));
      return;
    }
    run(ctx, () -> json(gateway.rollouts().start(plan)), 201);
  }

  interface Work {
    JsonObject get() throws Rollouts.Refused;
  }

  private void run(RoutingContext ctx, Work work, int status) {
    gateway.vertx().executeBlocking(work::get, true).onComplete(ar -> {
      if (ar.succeeded()) {
        AdminServer.json(ctx, status, ar.result());
      } else if (ar.cause() instanceof Rollouts.Refused r) {
        AdminServer.json(ctx, r.status, new JsonObject().put("error", r.getMessage()));
      } else {
        AdminServer.json(ctx, 500, new JsonObject().put("error", "internal error: " + ar.cause()));
      }
    });
  }

  static JsonObject json(Rollouts.View v) {
    RolloutPlan p = v.plan();
    return new JsonObject().put("tenant", p.tenant()).put("canary", p.canary()).put("state", v.state())
        .put("percent", v.percent()).put("step", v.step() + 1).put("steps", new JsonArray(p.steps()))
        .put("interval_seconds", p.interval().toMillis() / 1000.0).put("max_5xx_percent", 100 * p.maxErrorRate())
        .put("max_p99_ms", p.maxP99() == null ? null : p.maxP99().toMillis()).put("min_requests", p.minRequests())
        .put("pin_header", p.pinHeader()).put("pin_cookie", p.pinCookie())
        .put("started", v.started().toString()).put("step_started", v.stepStarted().toString())
        .put("reason", v.reason());
  }
}
