package dev.keystone.script;

import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaClosure;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;

/**
 * One Lua state running one script: its own globals (scripts keep their globals between calls,
 * but see only their own) and its own {@link CallBudget}. Confined to one thread: each event loop
 * makes its own, so Lua state is never shared between threads.
 */
public final class ScriptState {

  /** A script call that failed: an error raised by the script, a limit hit or a bad value. */
  public static final class ScriptFailure extends Exception {
    private final boolean limit;

    ScriptFailure(String message, boolean limit) {
      // Messages quote what scripts passed (a backend name, a path): one line, of bounded size,
      // wherever it is logged or answered.
      super(Helpers.printable(message == null ? "error" : message, 2000), null, false, false);
      this.limit = limit;
    }

    /** Whether a {@link ScriptLimits limit} stopped the script (rather than an error of its own). */
    public boolean limit() {
      return limit;
    }
  }

  private final LuaScript script;
  private final CallBudget budget;
  private final Globals globals;

  /** Creates the state and runs the script's top level (which usually defines functions). */
  public ScriptState(LuaScript script, ScriptLimits limits) throws ScriptFailure {
    this(script, limits, g -> { });
  }

  /** The same, with {@code api} adding the host's functions to the globals first. */
  public ScriptState(LuaScript script, ScriptLimits limits, java.util.function.Consumer<Globals> api) throws ScriptFailure {
    this.script = script;
    this.budget = new CallBudget(limits);
    ScriptGlobals g = Sandbox.globals(budget);
    this.globals = g;
    api.accept(globals);
    java.util.Set<LuaValue> provided = StateFreezer.provided(globals);
    call(new LuaClosure(script.chunk(), globals), LuaValue.NONE);
    StateFreezer.Frozen frozen;
    try {
      frozen = StateFreezer.freeze(g, provided); // from here on no call can make the state grow
    } catch (StateFreezer.Unkeepable e) {
      throw new ScriptFailure(script.name() + ": " + e.getMessage(), true);
    }
    budget.freeze(frozen.upvalues());
    if (frozen.bytes() > limits.maxState()) {
      throw new ScriptFailure(script.name() + ": its top level keeps about " + (frozen.bytes() >> 10)
          + " KiB (tables, strings, functions); a loaded script may keep " + (limits.maxState() >> 10)
          + " KiB (script_limits.max_state): build less at load, or keep data in kv", true);
    }
    this.memoryShare = StateLedger.PROCESS.reserve(this, script.name(), frozen.bytes());
    if (memoryShare == null) {
      throw new ScriptFailure(script.name() + ": the loaded scripts of this process already keep "
          + (StateLedger.PROCESS.used() >> 20) + " MiB of the " + (StateLedger.PROCESS.max() >> 20)
          + " MiB they may (a quarter of the heap, with a share kept for every script): this one ("
          + (frozen.bytes() >> 10) + " KiB) does not fit", true);
    }
  }

  /** This state's share of the process's script memory, given back by {@link #close}. */
  private final java.lang.ref.Cleaner.Cleanable memoryShare;

  /** Gives the state's memory share back (the state is no longer used). */
  public void close() {
    memoryShare.clean();
  }

  public LuaScript script() {
    return script;
  }

  public Globals globals() {
    return globals;
  }

  /** The global function {@code name}, or null if the script does not define one. */
  public LuaValue function(String name) {
    LuaValue f = globals.get(name);
    return f.isfunction() ? f : null;
  }

  /** The tenant's share of script time, charged by every call; null: not shared (tools, tests). */
  private TimeShare share;

  /** Charges this state's calls to {@code timeShare} (the tenant's). */
  void shareTimeWith(TimeShare timeShare) {
    this.share = timeShare;
  }

  /** The deadline of the next calls (ns) when less than the limits' (a remote gateway's deadline_ms). */
  private long nextDeadlineNanos = Long.MAX_VALUE;

  /** The calls from now on end within {@code nanos} (or the limits' deadline, if less). */
  void limitDeadline(long nanos) {
    nextDeadlineNanos = nanos;
  }

  /** Calls {@code fn} with a fresh budget; every way a script can fail becomes a ScriptFailure. */
  public Varargs call(LuaValue fn, Varargs args) throws ScriptFailure {
    if (share != null && !share.available()) {
      throw new ScriptFailure(script.name() + ": the tenant's scripts used their time share (script_limits.time_per_second: "
          + share.perSecondNanos() / 1_000_000 + " ms a second); calls fail until it refills", true);
    }
    long started = System.nanoTime();
    try {
      return metered(fn, args);
    } finally {
      if (share != null) {
        share.spend(System.nanoTime() - started);
      }
    }
  }

  private Varargs metered(LuaValue fn, Varargs args) throws ScriptFailure {
    budget.start(nextDeadlineNanos);
    CallBudget outer = Sandbox.CURRENT.get();
    Sandbox.CURRENT.set(budget);
    try {
      return fn.invoke(args);
    } catch (ScriptLimitError e) {
      throw new ScriptFailure(located(e.getMessage()), true);
    } catch (LuaError e) {
      throw new ScriptFailure(located(e.getMessage()), false);
    } catch (StackOverflowError e) {
      throw new ScriptFailure(located("Java stack exhausted"), true);
    } catch (RuntimeException e) {
      throw new ScriptFailure(located(e.toString()), false);
    } finally {
      Sandbox.CURRENT.set(outer);
    }
  }

  /** "file.lua:12: message", whether or not LuaJ put a location in the message. */
  private String located(String message) {
    String m = message == null ? "error" : message.strip();
    if (m.startsWith("@")) {
      m = m.substring(1);
    }
    int colon = m.indexOf(".lua:");
    if (colon >= 0) {
      // LuaJ writes "file.lua:3 message"; make it "file.lua:3: message" like Lua itself
      int end = colon + 5;
      while (end < m.length() && Character.isDigit(m.charAt(end))) {
        end++;
      }
      return end < m.length() && m.charAt(end) == ' ' ? m.substring(0, end) + ":" + m.substring(end) : m;
    }
    String where = budget.location();
    return (where == null ? script.name() : where) + ": " + m;
  }

  /** Instructions used by the last call (for tests and metrics). */
  public long instructionsUsed() {
    return budget.used();
  }
}
