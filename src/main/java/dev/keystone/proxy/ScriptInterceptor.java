package dev.keystone.proxy;

import dev.keystone.config.LuaEngineConfig;
import dev.keystone.config.TenantConfig;
import dev.keystone.engine.EngineClient;
import dev.keystone.engine.EngineProtocol;
import dev.keystone.gateway.Snapshot;
import dev.keystone.gateway.Tenant;
import dev.keystone.metrics.Metrics;
import dev.keystone.script.Decision;
import dev.keystone.script.LogText;
import dev.keystone.script.LuaScript;
import dev.keystone.script.RequestScript;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.script.ScriptRequest;
import dev.keystone.script.ScriptState;
import dev.keystone.script.ScriptStates;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.util.IdentityHashMap;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Runs the tenant's routing script, if it has one, and applies its decision: a narrower set of
 * backends, a direct answer, a refusal, and header, path and query edits. A failing script (an
 * error, a limit hit, a bad value) is logged with the script's name and line, then either routes
 * as if there were no script ({@code on_script_error: fail_open}) or answers 500 naming the
 * request id ({@code fail_closed}, the default).
 *
 * <p>One per event loop, holding that loop's Lua states, one per tenant (two tenants running the
 * same script file do not share globals): a state is never used by two threads. States are made
 * on first use and dropped when a reload replaces their tenant.
 */
final class ScriptInterceptor implements Interceptor {

  private static final Logger LOG = Logger.getLogger("keystone.script");

  private final ScriptEnvironment env;
  private final EngineClient engines;
  /** A RequestScript, or the ScriptFailure that prevented making one (not retried per request). */
  private final ScriptStates<TenantConfig> states = new ScriptStates<>(new IdentityHashMap<>());
  private Snapshot seen;

  ScriptInterceptor(ScriptEnvironment env, EngineClient engines) {
    this.env = env;
    this.engines = engines;
  }

  @Override
  public void handle(Exchange ex) {
    long bodyCap = ex.tenant().config().scriptBody();
    if (bodyCap > 0 && ex.bufferedBody == null && ClientBody.declared(ex.request())) {
      RequestBodies.read(ex, bodyCap, () -> handle(ex)); // the script sees the body: read it first
      return;
    }
    Tenant tenant = ex.tenant();
    if (tenant.config().luaScript() != null) {
      ex.scriptLog = env.logBudget(tenant.name());
    }
    LuaScript script = tenant.config().script();
    if (script == null) {
      LuaEngineConfig own = tenant.config().ownEngine(); // isolation: process
      LuaEngineConfig engine = own != null ? own : ex.snapshot().config().luaEngine();
      if (tenant.config().luaScript() != null && engine.enabled()) {
        remote(ex, engine);
      } else {
        ex.next();
      }
      return;
    }
    forgetUnused(ex.snapshot());
    Decision d;
    long started = System.nanoTime();
    try {
      RequestScript rs = stateFor(tenant.config(), ex.snapshot());
      ScriptRequest request = request(ex);
      ex.scriptOutcome = Metrics.ScriptOutcome.OK;
      d = rs.decide(request);
      ex.scriptNanos = System.nanoTime() - started;
      if (rs.hasOnResponse()) {
        ex.responseHook = (backend, status, headers) -> {
          try {
            return Future.succeededFuture(rs.onResponse(request, backend, status, headers));
          } catch (ScriptState.ScriptFailure f) {
            return Future.failedFuture(new ResponseHook.Failure(f.getMessage(), f.limit()));
          }
        };
      }
    } catch (ScriptState.ScriptFailure f) {
      ex.scriptNanos = System.nanoTime() - started;
      if (failedOpen(ex, f.getMessage(), f.limit())) {
        ex.next();
      } else {
        ex.fail(ProxyError.SCRIPT_FAILED, "script " + script.name() + ": " + f.getMessage());
      }
      return;
    }
    apply(ex, d);
  }

  /**
   * The script runs in a remote engine (the {@code lua_engine} block): one round trip, then the
   * same decision handling as for an embedded script. The request is paused meanwhile so no body
   * byte is lost. A failing, slow or unreachable engine follows on_script_error.
   */
  private void remote(Exchange ex, LuaEngineConfig engine) {
    ex.request().pause();
    ScriptRequest request = request(ex);
    ex.scriptOutcome = Metrics.ScriptOutcome.OK;
    long started = System.nanoTime();
    ex.phase(Exchange.Phase.SCRIPT);
    engines.decide(engine.urls(), engine.timeout(), ex.tenant().config().luaScript(), request).onComplete(ex.guard(ar -> {
      ex.scriptNanos = System.nanoTime() - started;
      if (ex.request().response().closed()) {
        return; // the client left while the engine was deciding
      }
      if (ar.succeeded()) {
        if (ar.result().responsePhase()) {
          String script = ex.tenant().config().luaScript();
          ex.responseHook = (backend, status, headers) ->
              engines.respond(engine.urls(), engine.timeout(), script, request, backend, status, headers)
                  .recover(t -> Future.failedFuture(new ResponseHook.Failure(t.getMessage(),
                      t instanceof EngineProtocol.ScriptError e && e.limit())));
        }
        apply(ex, ar.result());
        return;
      }
      Throwable t = ar.cause();
      boolean limit = t instanceof EngineProtocol.ScriptError e && e.limit();
      if (failedOpen(ex, t.getMessage(), limit)) {
        ex.next();
      } else {
        ex.fail(ProxyError.SCRIPT_FAILED, "script " + ex.tenant().config().luaScript() + ": " + t.getMessage());
      }
    }));
  }

  /** Logs a script failure with the script's location; returns whether the tenant fails open. */
  static boolean failedOpen(Exchange ex, String message, boolean limit) {
    Tenant tenant = ex.tenant();
    ex.scriptOutcome = limit ? Metrics.ScriptOutcome.LIMIT : Metrics.ScriptOutcome.ERROR;
    boolean open = tenant.config().scriptFailOpen();
    // One line, bounded and escaped (the message may quote what a script or an engine sent), and
    // at most the tenant's LogBudget a second: a script failing on every request cannot flood the log.
    String note = ex.scriptLog == null ? "" : ex.scriptLog.acquire();
    if (note != null) {
      LOG.warning("script " + tenant.config().luaScript() + " failed" + (limit ? " (limit)" : "")
          + ", tenant=" + tenant.name() + " request_id=" + ex.requestId() + (open ? ", going on without it" : "")
          + ": " + LogText.of(message == null ? "error" : message, 2000) + note);
    }
    return open;
  }

  private RequestScript stateFor(TenantConfig tenant, Snapshot snapshot) throws ScriptState.ScriptFailure {
    return states.get(tenant, () -> new RequestScript(tenant.script(), env, snapshot.config().scriptLimits())
        .shareTimeWith(env.timeShare(tenant.name(), snapshot.config().scriptLimits())));
  }

  private void forgetUnused(Snapshot snapshot) {
    if (snapshot == seen) {
      return;
    }
    seen = snapshot;
    Set<TenantConfig> current = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    for (Tenant t : snapshot.tenants()) {
      current.add(t.config());
    }
    states.retainAll(current);
  }

  private ScriptRequest request(Exchange ex) {
    HttpServerRequest req = ex.request();
    return new ScriptRequest(req.method().name(), ex.forwardPath(), req.path(), req.query(), ex.host(),
        req.remoteAddress() == null ? null : req.remoteAddress().hostAddress(), ex.tenant().name(), ex.requestId(),
        req.headers().entries(), ex.tenant().pool().backends(), env.store(ex.tenant().name()),
        ex.bufferedBody == null ? null : ex.bufferedBody.getBytes());
  }

  private static void apply(Exchange ex, Decision d) {
    if (!d.headerEdits().isEmpty()) {
      ex.headerEdits = d.headerEdits();
    }
    if (d.path() != null) {
      ex.forwardPath = d.path();
    }
    if (d.query() != null) {
      ex.forwardQuery = d.query();
    }
    switch (d.kind()) {
      case CONTINUE -> ex.next();
      case ROUTE -> {
        ex.candidates = d.candidates();
        ex.routeTarget = d.target();
        ex.next();
      }
      case RESPOND -> respond(ex, d);
      case REJECT -> ErrorResponder.send(ex, d.status(), d.reason(), "rejected by script: " + d.reason());
    }
  }

  private static void respond(Exchange ex, Decision d) {
    HttpServerResponse resp = ex.request().response();
    resp.setStatusCode(d.status());
    d.responseHeaders().forEach(resp::putHeader);
    if (!resp.headers().contains("Content-Type")) {
      resp.putHeader("Content-Type", "text/plain; charset=utf-8");
    }
    resp.putHeader("X-Request-ID", ex.requestId());
    ex.answered = true;
    // The request body (if any) is not read: like an error answer, drop a small one or close.
    if (ClientBody.settle(ex)) {
      resp.end(d.body());
    } else {
      ClientBody.closeAfter(ex, resp, d.body());
    }
  }
}
