package dev.keystone.rollout;

import java.time.Duration;
import java.time.Instant;

/**
 * One tenant's rollout as a state machine: RUNNING (judged continuously, one step further after
 * each interval) and PAUSED (held at its step, still rolled back on a breach) are live; PROMOTED
 * (the canary keeps all traffic), ROLLED_BACK and ABORTED (the canary gets none) are final. Each
 * step is judged on what happened since it began: the canary's answers, 5xx share and 99th
 * percentile, against the plan's limits, with the other backends' figures for comparison.
 */
final class Rollout {

  enum State { RUNNING, PAUSED, PROMOTED, ROLLED_BACK, ABORTED }

  /** What a judgement decided: nothing yet, wait for traffic, next step, promoted, rolled back. */
  enum Verdict { NONE, WAIT, ADVANCE, PROMOTE, BREACH }

  /** A judgement and the figures it was made on. */
  record Judgement(Verdict verdict, String detail) {
  }

  final RolloutPlan plan;
  final Instant started;
  private State state = State.RUNNING;
  private int step;
  private Instant stepStarted;
  private Figures canaryBase = Figures.NONE;
  private Figures othersBase = Figures.NONE;
  private boolean waitNoted;
  private String reason = "";

  Rollout(RolloutPlan plan, Instant started) {
    this.plan = plan;
    this.started = started;
    this.stepStarted = started;
  }

  /** A rollout as stored: its state and step restored, judged from here on. */
  static Rollout restored(RolloutPlan plan, Instant started, State state, int step, Instant stepStarted, String reason) {
    Rollout r = new Rollout(plan, started);
    r.state = state;
    r.step = Math.max(0, Math.min(step, plan.steps().size() - 1));
    r.stepStarted = stepStarted;
    r.reason = reason == null ? "" : reason;
    return r;
  }

  State state() {
    return state;
  }

  int step() {
    return step;
  }

  Instant stepStarted() {
    return stepStarted;
  }

  String reason() {
    return reason;
  }

  boolean live() {
    return state == State.RUNNING || state == State.PAUSED;
  }

  /** The canary's share now, in percent. */
  int percent() {
    return switch (state) {
      case RUNNING, PAUSED -> plan.steps().get(step);
      case PROMOTED -> 100;
      case ROLLED_BACK, ABORTED -> 0;
    };
  }

  /** The figures a step is judged against: what the metrics say as it begins. */
  void baseline(Figures canary, Figures others) {
    canaryBase = canary;
    othersBase = others;
  }

  /**
   * Judges the step on the figures now: a breach whenever the canary has answered enough to tell,
   * and at the end of the interval the next step (or promotion after the last), or a wait while
   * the canary has had too few requests to judge.
   */
  Judgement judge(Instant now, Figures canaryNow, Figures othersNow) {
    if (!live()) {
      return new Judgement(Verdict.NONE, "");
    }
    Figures canary = canaryNow.since(canaryBase);
    Figures others = othersNow.since(othersBase);
    String detail = "canary " + canary.describe() + "; others " + others.describe();
    boolean enough = canary.answers() >= plan.minRequests();
    if (enough) {
      String breach = breach(canary);
      if (breach != null) {
        state = State.ROLLED_BACK;
        reason = breach + " (" + detail + ")";
        return new Judgement(Verdict.BREACH, reason);
      }
    }
    if (state == State.PAUSED || Duration.between(stepStarted, now).compareTo(plan.interval()) < 0) {
      return new Judgement(Verdict.NONE, detail);
    }
    if (!enough) {
      boolean first = !waitNoted;
      waitNoted = true;
      return new Judgement(first ? Verdict.WAIT : Verdict.NONE, "waiting for " + plan.minRequests()
          + " canary answers to judge the step (" + detail + ")");
    }
    if (step == plan.steps().size() - 1) {
      state = State.PROMOTED;
      reason = "every step passed (" + detail + ")";
      return new Judgement(Verdict.PROMOTE, detail);
    }
    step++;
    stepStarted = now;
    waitNoted = false;
    return new Judgement(Verdict.ADVANCE, detail);
  }

  private String breach(Figures canary) {
    if (canary.errorRate() > plan.maxErrorRate()) {
      return String.format(java.util.Locale.ROOT, "5xx share %.2f%% above the limit of %.2f%%", 100 * canary.errorRate(),
          100 * plan.maxErrorRate());
    }
    double p99 = canary.p99Seconds();
    if (plan.maxP99() != null && !Double.isNaN(p99) && p99 * 1e9 > plan.maxP99().toNanos()) {
      boolean top = p99 >= dev.keystone.metrics.Histogram.BOUNDS[dev.keystone.metrics.Histogram.BOUNDS.length - 1];
      return "p99 " + (top ? "at least " : "") + Math.round(p99 * 1000) + " ms above the limit of " + plan.maxP99().toMillis()
          + " ms";
    }
    return null;
  }

  /**
   * Rolls back now for {@code why} (the canary went unhealthy: ejected by passive health or
   * failing its checks, so it would not get the answers a step needs to be judged).
   */
  Judgement rollBack(String why, Figures canaryNow, Figures othersNow) {
    Figures canary = canaryNow.since(canaryBase);
    Figures others = othersNow.since(othersBase);
    state = State.ROLLED_BACK;
    reason = why + " (canary " + canary.describe() + "; others " + others.describe() + ")";
    return new Judgement(Verdict.BREACH, reason);
  }

  /** Aborts a live rollout for {@code why} (not an operator's doing: a reload took its canary away). */
  void abort(String why) {
    state = State.ABORTED;
    reason = why;
  }

  /**
   * The step's interval starts again at {@code now} (a restart: the figures are counted from
   * the restart, so the step is judged over a whole interval of them, as after resume; attack
   * s16b F2: a step was advanced 4 s after a restart on 6 answers).
   */
  void restartStep(Instant now) {
    if (live()) {
      stepStarted = now;
      waitNoted = false;
    }
  }

  /** An operator's action; false when it does not apply to the state (the state is unchanged). */
  boolean act(String action, Instant now) {
    switch (action) {
      case "pause" -> {
        if (state != State.RUNNING) {
          return false;
        }
        state = State.PAUSED;
      }
      case "resume" -> {
        if (state != State.PAUSED) {
          return false;
        }
        state = State.RUNNING;
        stepStarted = now; // the step is judged over a whole interval again
        waitNoted = false;
      }
      case "abort" -> {
        if (!live()) {
          return false;
        }
        state = State.ABORTED;
        reason = "aborted by an operator";
      }
      case "promote" -> {
        if (!live()) {
          return false;
        }
        state = State.PROMOTED;
        reason = "promoted by an operator";
      }
      default -> {
        return false;
      }
    }
    return true;
  }
}
