package dev.keystone.rollout;

import dev.keystone.metrics.Metrics;
import dev.keystone.model.Backend;
import dev.keystone.model.Events;
import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;
import dev.keystone.model.TrafficSplit;
import dev.keystone.model.TrafficSplits;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The gateway's rollouts, one per tenant at most: started, acted on and listed by the admin API
 * (and `keystone rollout`), judged by {@link #tick} every second on the live metrics, each
 * change of state an event with the figures that decided it, and stored ({@link RolloutStore})
 * so that a restart goes on where it stopped. The canary's share is the tenant's
 * {@link TrafficSplit}, which survives reloads; a reload that removes the tenant or its canary
 * aborts the rollout.
 */
public final class Rollouts {

  /** Why an operator's request was refused: the HTTP status and the message. */
  public static final class Refused extends Exception {
    public final int status;

    public Refused(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  private final TrafficSplits splits;
  private final Metrics metrics;
  private final Events events;
  private final Supplier<Snapshot> snapshot;
  private final RolloutStore store;
  private final Clock clock;
  private final Map<String, Rollout> byTenant = new LinkedHashMap<>();

  public Rollouts(TrafficSplits splits, Metrics metrics, Events events, Supplier<Snapshot> snapshot, Path storeFile,
                  Clock clock) {
    this.splits = splits;
    this.metrics = metrics;
    this.events = events;
    this.snapshot = snapshot;
    this.store = new RolloutStore(storeFile);
    this.clock = clock;
  }

  /** Takes up the stored rollouts (at start): live ones go on from their step; shares are set again. */
  public synchronized List<String> load() {
    List<String> problems = new ArrayList<>();
    for (Rollout r : store.read(problems)) {
      if (byTenant.containsKey(r.plan.tenant())) {
        problems.add("rollouts: a second rollout of tenant " + r.plan.tenant() + " in the file left out");
        continue;
      }
      byTenant.put(r.plan.tenant(), r);
      r.restartStep(clock.instant());
      rebaseline(r);
      share(r);
    }
    return problems;
  }

  /** Starts a rollout; refused (404) for an unknown tenant or canary, (409) while one is live. */
  public synchronized View start(RolloutPlan plan) throws Refused {
    Tenant t = tenant(plan.tenant());
    if (t == null) {
      throw new Refused(404, "no tenant named '" + plan.tenant() + "'");
    }
    Backend canary = backend(t, plan.canary());
    if (canary == null) {
      throw new Refused(404, "tenant " + plan.tenant() + " has no backend named '" + plan.canary() + "'");
    }
    if (!canary.healthy()) { // (it would be rolled back at the first judgement)
      throw new Refused(409, "the canary " + plan.canary() + " is not healthy" + unhealthyReason(canary)
          + ": start its rollout once it passes its health checks");
    }
    if (t.pool().backends().size() < 2) {
      throw new Refused(409, "tenant " + plan.tenant() + " has no backend besides the canary to compare it with");
    }
    Rollout old = byTenant.get(plan.tenant());
    if (old != null && old.live()) {
      throw new Refused(409, "tenant " + plan.tenant() + " has a rollout " + old.state().name().toLowerCase()
          + " (canary " + old.plan.canary() + "): abort or promote it first");
    }
    Rollout r = new Rollout(plan, clock.instant());
    byTenant.put(plan.tenant(), r);
    rebaseline(r);
    share(r);
    event(r, "started", "steps " + plan.steps() + " every " + plan.interval().toSeconds() + " s");
    save();
    return view(r);
  }

  /** pause, resume, abort or promote; refused (404) without a rollout, (409) where it does not apply. */
  public synchronized View act(String tenant, String action) throws Refused {
    Rollout r = byTenant.get(tenant);
    if (r == null) {
      throw new Refused(404, "tenant " + tenant + " has no rollout");
    }
    if (!r.act(action, clock.instant())) {
      throw new Refused(409, "cannot " + action + " the rollout of tenant " + tenant + ": it is "
          + r.state().name().toLowerCase());
    }
    if (action.equals("resume")) {
      rebaseline(r);
    }
    share(r);
    event(r, action.endsWith("e") ? action + "d" : action + "ed", "by an operator");
    save();
    return view(r);
  }

  /** Judges every live rollout on the metrics now; called every second. */
  public synchronized void tick() {
    boolean changed = false;
    Instant now = clock.instant();
    for (Rollout r : byTenant.values()) {
      if (!r.live()) {
        continue;
      }
      Tenant t = tenant(r.plan.tenant());
      if (t == null || backend(t, r.plan.canary()) == null) {
        String why = "the reloaded config has no " + (t == null ? "tenant " + r.plan.tenant() : "backend " + r.plan.canary());
        r.abort("aborted: " + why);
        share(r);
        event(r, "aborted", why);
        changed = true;
        continue;
      }
      // The split as the rollout has it, every tick: a reload that dropped the tenant and one
      // that brought it back within a tick left a new, empty split (attack s16b F1): the API
      // said 50% while the canary got nothing.
      share(r);
      Backend canary = backend(t, r.plan.canary());
      // An unhealthy canary (ejected after failures in a row, or failing its checks) gets no more
      // traffic, so a step would wait for answers that never come: that is a breach by itself.
      // (Drained by an operator: held, not judged.)
      Rollout.Judgement j = !canary.healthy() && !canary.health().drained()
          ? r.rollBack("the canary is unhealthy" + unhealthyReason(canary), canaryFigures(r), otherFigures(r, t))
          : canary.health().drained() ? new Rollout.Judgement(Rollout.Verdict.NONE, "")
          : r.judge(now, canaryFigures(r), otherFigures(r, t));
      switch (j.verdict()) {
        case NONE -> {
        }
        case WAIT -> event(r, "waiting", j.detail());
        case ADVANCE -> {
          rebaseline(r);
          share(r);
          event(r, "advanced", j.detail());
          changed = true;
        }
        case PROMOTE -> {
          share(r);
          event(r, "promoted", j.detail());
          changed = true;
        }
        case BREACH -> {
          share(r);
          event(r, "rolled back", j.detail());
          changed = true;
        }
      }
    }
    if (changed) {
      save();
    }
  }

  private static String unhealthyReason(Backend b) {
    if (b.health().ejected()) {
      return ": ejected by passive health until " + b.health().ejectedUntil();
    }
    String why = b.health().lastReason();
    return why == null || why.isEmpty() ? "" : ": " + why;
  }

  public synchronized List<View> list() {
    return byTenant.values().stream().map(this::view).toList();
  }

  public synchronized View get(String tenant) {
    Rollout r = byTenant.get(tenant);
    return r == null ? null : view(r);
  }

  /** What the admin API shows of a rollout. */
  public record View(RolloutPlan plan, String state, int step, int percent, Instant started, Instant stepStarted,
                     String reason) {
  }

  private View view(Rollout r) {
    return new View(r.plan, r.state().name().toLowerCase(), r.step(), r.percent(), r.started, r.stepStarted(), r.reason());
  }

  /**
   * The tenant's split as the rollout has it. Rolled back or aborted, the canary keeps a share of
   * 0 (no traffic while the others are up) until the rollout is forgotten: it failed, and the
   * pool as configured would give it its round-robin turn again.
   */
  private void share(Rollout r) {
    splits.splitFor(r.plan.tenant())
        .set(new TrafficSplit.Share(r.plan.canary(), r.percent() * 100, r.plan.pinHeader(), r.plan.pinCookie()));
  }

  /**
   * Forgets a tenant's final rollout (DELETE): its split goes, and the pool is as configured
   * again (the operator has made the config say what the rollout decided). Refused (409) while
   * live, (404) without one.
   */
  public synchronized void forget(String tenant) throws Refused {
    Rollout r = byTenant.get(tenant);
    if (r == null) {
      throw new Refused(404, "tenant " + tenant + " has no rollout");
    }
    if (r.live()) {
      throw new Refused(409, "the rollout of tenant " + tenant + " is " + r.state().name().toLowerCase()
          + ": abort or promote it first");
    }
    byTenant.remove(tenant);
    splits.splitFor(tenant).clear();
    event(r, "forgotten", "the pool is as configured again");
    save();
  }

  private void rebaseline(Rollout r) {
    Tenant t = tenant(r.plan.tenant());
    r.baseline(canaryFigures(r), t == null ? Figures.NONE : otherFigures(r, t));
  }

  private Figures canaryFigures(Rollout r) {
    return Figures.of(metrics.tenants().get(r.plan.tenant()), List.of(r.plan.canary()));
  }

  private Figures otherFigures(Rollout r, Tenant t) {
    List<String> others = new ArrayList<>();
    for (Backend b : t.pool().backends()) {
      if (!b.name().equals(r.plan.canary())) {
        others.add(b.name());
      }
    }
    return Figures.of(metrics.tenants().get(r.plan.tenant()), others);
  }

  private Tenant tenant(String name) {
    for (Tenant t : snapshot.get().tenants()) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    return null;
  }

  private static Backend backend(Tenant t, String name) {
    for (Backend b : t.pool().backends()) {
      if (b.name().equals(name)) {
        return b;
      }
    }
    return null;
  }

  private void event(Rollout r, String action, String detail) {
    events.add(new Events.Rollout(clock.instant(), r.plan.tenant(), r.plan.canary(), action, r.percent(), detail));
  }

  private void save() {
    store.write(byTenant.values());
  }
}
