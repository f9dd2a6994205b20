package dev.keystone.proxy;

import dev.keystone.engine.EngineClient;
import dev.keystone.engine.EngineProtocol;
import dev.keystone.model.Backend;
import dev.keystone.model.Snapshot;
import dev.keystone.model.RemoteEngine;
import dev.keystone.model.Tenant;
import dev.keystone.model.TenantScript;
import dev.keystone.metrics.Metrics;
import dev.keystone.script.BackendView;
import dev.keystone.script.Decision;
import dev.keystone.script.LogText;
import dev.keystone.script.LuaScript;
import dev.keystone.script.RequestScript;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.script.ScriptRequest;
import dev.keystone.script.ScriptState;
import dev.keystone.script.ScriptStates;
import io.vertx.core.Future;

import java.util.IdentityHashMap;
import java.util.List;
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
  private final ScriptStates<TenantScript> states = new ScriptStates<>(new IdentityHashMap<>());
  private Snapshot seen;

  ScriptInterceptor(ScriptEnvironment env, EngineClient engines) {
    this.env = env;
    this.engines = engines;
  }

  @Override
  public void handle(Exchange ex) {
    TenantScript plan = ex.tenant().script();
    if (plan == null) {
      ex.next();
      return;
    }
    long bodyCap = plan.bodyCap();
    if (plan.shadow() && bodyCap > 0 && ex.bufferedBody == null && ClientBody.declared(ex)
        && (ex.body().declaredLength() < 0 || ex.body().declaredLength() > bodyCap)) {
      // A script in shadow mode never decides: a body it could not be shown (longer than
      // script_body, or of unknown length) is not refused for it (413: attack s16b F4), the
      // request goes on as without a script, unread by it.
      ex.shadowDecision = "skipped:body";
      ex.next();
      return;
    }
    if (bodyCap > 0 && ex.bufferedBody == null && ClientBody.declared(ex)) {
      String refused = plan.remote() == null || engines == null ? null : engines.refusal(ex.tenant().name(), System.nanoTime());
      if (refused != null) {
        // Its engine calls are refused now: the body is not read for a script that is not called
        // (fail-open streams it to the backend; an error answer closes the connection).
        ex.scriptLog = env.logBudget(ex.tenant().name());
        failed(ex, plan, refused, false);
        return;
      }
      // The script sees the body: read it first, counted while the request is in flight (a copy
      // is made to send it), so a tenant can't keep thousands of bodies waiting on a slow backend.
      long declared = ex.body().declaredLength();
      long expected = declared >= 0 ? declared : bodyCap;
      if (expected <= bodyCap && !ex.hold(env.held(ex.tenant().name()), 2 * expected)) {
        return;
      }
      RequestBodies.read(ex, bodyCap, () -> handle(ex));
      return;
    }
    Tenant tenant = ex.tenant();
    ex.scriptLog = env.logBudget(tenant.name());
    LuaScript script = plan.compiled();
    if (script == null) {
      if (plan.remote() != null) {
        remote(ex, plan);
      } else {
        ex.next(); // a remote script with no engine enabled: routed as if there were none
      }
      return;
    }
    forgetUnused(ex.snapshot());
    Decision d;
    long started = System.nanoTime();
    try {
      RequestScript rs = stateFor(tenant.name(), plan);
      ScriptRequest request = request(ex);
      ex.scriptOutcome = Metrics.ScriptOutcome.OK;
      d = rs.decide(request);
      ex.scriptNanos = System.nanoTime() - started;
      if (rs.hasOnResponse() && !plan.shadow()) {
        ex.responseHook = held(ex, (backend, status, headers) -> {
          try {
            return Future.succeededFuture(rs.onResponse(request, backend, status, headers));
          } catch (ScriptState.ScriptFailure f) {
            return Future.failedFuture(new ResponseHook.Failure(f.getMessage(), f.limit()));
          }
        });
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
    if (plan.shadow()) {
      shadow(ex, d);
      return;
    }
    apply(ex, d);
  }

  /**
   * script_mode: shadow: the decision is noted (access log, metrics) and the request goes on as
   * if there were no script: no edits, no answer, no response phase.
   */
  private static void shadow(Exchange ex, Decision d) {
    String s = switch (d.kind()) {
      case CONTINUE -> "continue";
      case ROUTE -> "route:" + d.target().replace(" ", "");
      case RESPOND -> "respond:" + d.status();
      case REJECT -> "reject:" + d.status();
    };
    boolean edits = !d.headerEdits().isEmpty() || d.path() != null || d.query() != null;
    ex.shadowDecision = dev.keystone.proxy.RequestSyntax.printable(edits ? s + "+edits" : s);
    ex.next();
  }

  /**
   * The script runs in a remote engine (the {@code lua_engine} block): one round trip, then the
   * same decision handling as for an embedded script. The request is paused meanwhile so no body
   * byte is lost. A failing, slow or unreachable engine follows on_script_error.
   */
  private void remote(Exchange ex, TenantScript plan) {
    RemoteEngine engine = plan.remote();
    ex.body().pause();
    ScriptRequest request = request(ex);
    ex.scriptOutcome = Metrics.ScriptOutcome.OK;
    long started = System.nanoTime();
    ex.phase(Exchange.Phase.SCRIPT);
    engines.decide(engine.urls(), engine.timeout(), plan.name(), plan.params(), request).onComplete(ex.guard(ar -> {
      ex.scriptNanos = System.nanoTime() - started;
      if (ex.response().closed()) {
        return; // the client left while the engine was deciding
      }
      if (ar.succeeded()) {
        if (plan.shadow()) {
          shadow(ex, ar.result());
          return;
        }
        if (ar.result().responsePhase()) {
          String script = plan.name();
          ex.responseHook = held(ex, (backend, status, headers) ->
              engines.respond(engine.urls(), engine.timeout(), script, plan.params(), request, backend, status, headers)
                  .recover(t -> Future.failedFuture(new ResponseHook.Failure(t.getMessage(),
                      t instanceof EngineProtocol.ScriptError e && e.limit()))));
        }
        apply(ex, ar.result());
        return;
      }
      Throwable t = ar.cause();
      failed(ex, plan, t.getMessage(), t instanceof EngineProtocol.ScriptError e && e.limit());
    }));
  }

  /** The tenant's on_script_error policy for a remote call that failed with {@code message}. */
  private static void failed(Exchange ex, TenantScript plan, String message, boolean limit) {
    if (failedOpen(ex, message, limit)) {
      ex.next();
    } else {
      ex.fail(ProxyError.SCRIPT_FAILED, "script " + plan.name() + ": " + message);
    }
  }

  /** Logs a script failure with the script's location; returns whether the tenant fails open. */
  static boolean failedOpen(Exchange ex, String message, boolean limit) {
    Tenant tenant = ex.tenant();
    ex.scriptOutcome = limit ? Metrics.ScriptOutcome.LIMIT : Metrics.ScriptOutcome.ERROR;
    boolean shadow = tenant.script().shadow();
    boolean open = tenant.script().failOpen() || shadow; // (a script in shadow mode never decides, failing or not)
    if (shadow) {
      ex.shadowDecision = limit ? "error:limit" : "error";
    }
    // One line, bounded and escaped (the message may quote what a script or an engine sent), and
    // at most the tenant's LogBudget a second: a script failing on every request cannot flood the log.
    String note = ex.scriptLog == null ? "" : ex.scriptLog.acquire();
    if (note != null) {
      LOG.warning("script " + tenant.script().name() + " failed" + (limit ? " (limit)" : "")
          + ", tenant=" + tenant.name() + " request_id=" + ex.requestId() + (open ? " going_on=true" : "")
          + " error=\"" + LogText.quoted(message == null ? "error" : message, 2000) + "\"" + note);
    }
    return open;
  }

  private RequestScript stateFor(String tenant, TenantScript plan) throws ScriptState.ScriptFailure {
    return states.get(plan, () -> new RequestScript(plan.compiled(), env, plan.limits()).params(plan.params())
        .shareTimeWith(env.timeShare(tenant, plan.limits())));
  }

  private void forgetUnused(Snapshot snapshot) {
    if (snapshot == seen) {
      return;
    }
    seen = snapshot;
    Set<TenantScript> current = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    for (Tenant t : snapshot.tenants()) {
      if (t.script() != null) {
        current.add(t.script());
        // Every scripted tenant's accounts from the start, not on its first use: a share is
        // backed when its account is made (R5-T4), so before anyone has filled the pools.
        env.store(t.name());
        env.held(t.name());
      }
    }
    states.retainAll(current);
  }

  private ScriptRequest request(Exchange ex) {
    RequestHead req = ex.head();
    return new ScriptRequest(req.method().name(), ex.forwardPath(), req.path(), req.query(), ex.host(),
        req.clientAddress(), ex.tenant().name(), ex.requestId(),
        req.headers().entries(), ex.tenant().pool().backends(), env.store(ex.tenant().name()), ex.bufferedBody);
  }

  /**
   * {@code hook} with its header edits counted as held by the request, like the request's own
   * edits: a response's edits stay on the heap while its body streams, and a tenant could keep
   * thousands of slow responses (attack on issue 13, round 3, F7). Past the tenant's bound the
   * hook fails as a limit (the tenant's error policy: fail_open relays the response unedited).
   */
  private ResponseHook held(Exchange ex, ResponseHook hook) {
    dev.keystone.script.TenantAccount account = env.held(ex.tenant().name());
    return (backend, status, headers) -> hook.run(backend, status, headers).compose(edits -> {
      long bytes = 0;
      for (var e : edits.headerEdits().entrySet()) {
        bytes += 64 + e.getKey().length() + (e.getValue() == null ? 0 : e.getValue().length());
      }
      String full = bytes == 0 ? null : ex.tryHold(account, 3 * bytes);
      return full == null ? Future.succeededFuture(edits)
          : Future.failedFuture(new ResponseHook.Failure("response header edits held in flight: " + full, true));
    });
  }

  /**
   * What a decision's edits keep until the request ends, estimated generously: the strings, the
   * upstream request's copy of them and its encoded head.
   */
  static long heldBytes(Decision d) {
    long bytes = 0;
    for (var e : d.headerEdits().entrySet()) {
      bytes += 64 + e.getKey().length() + (e.getValue() == null ? 0 : e.getValue().length());
    }
    bytes += d.path() == null ? 0 : d.path().length();
    bytes += d.query() == null ? 0 : d.query().length();
    return 3 * bytes;
  }

  private void apply(Exchange ex, Decision d) {
    long held = heldBytes(d);
    if (held > 0 && !ex.hold(env.held(ex.tenant().name()), held)) {
      return;
    }
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
        ex.candidates = backends(d.candidates());
        ex.routeTarget = d.target();
        ex.next();
      }
      case RESPOND -> respond(ex, d);
      case REJECT -> ErrorResponder.send(ex, d.status(), d.reason(), "rejected by script: " + d.reason());
    }
  }

  /**
   * A decision's candidates are the very backends the script was shown, the tenant's pool: the
   * script package sees them only as {@link BackendView}s.
   */
  @SuppressWarnings("unchecked")
  private static List<Backend> backends(List<BackendView> candidates) {
    for (BackendView b : candidates) {
      if (!(b instanceof Backend)) {
        throw new IllegalStateException("a script picked a backend it was not shown: " + b.name());
      }
    }
    return (List<Backend>) (List<?>) candidates;
  }

  private static void respond(Exchange ex, Decision d) {
    ResponseSink resp = ex.response();
    resp.status(d.status());
    d.responseHeaders().forEach(resp.headers()::set);
    if (!resp.headers().contains("Content-Type")) {
      resp.headers().set("Content-Type", "text/plain; charset=utf-8");
    }
    resp.headers().set("X-Request-ID", ex.requestId());
    Hsts.apply(ex, resp.headers());
    RateLimitHeaders.apply(ex, resp.headers());
    ClientBody.answerUnread(ex, d.body());
  }
}
