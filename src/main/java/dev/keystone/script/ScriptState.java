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
      super(message, null, false, false);
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
    this.script = script;
    this.budget = new CallBudget(limits);
    this.globals = Sandbox.globals(budget);
    call(new LuaClosure(script.chunk(), globals), LuaValue.NONE);
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

  /** Calls {@code fn} with a fresh budget; every way a script can fail becomes a ScriptFailure. */
  public Varargs call(LuaValue fn, Varargs args) throws ScriptFailure {
    budget.start();
    CallBudget outer = Sandbox.CURRENT.get();
    Sandbox.CURRENT.set(budget);
    try {
      return fn.invoke(args);
    } catch (ScriptLimitError e) {
      throw new ScriptFailure(script.name() + ": " + e.getMessage(), true);
    } catch (LuaError e) {
      throw new ScriptFailure(e.getMessage(), false);
    } catch (StackOverflowError e) {
      throw new ScriptFailure(script.name() + ": Java stack exhausted", true);
    } catch (RuntimeException e) {
      throw new ScriptFailure(script.name() + ": " + e, false);
    } finally {
      Sandbox.CURRENT.set(outer);
    }
  }

  /** Instructions used by the last call (for tests and metrics). */
  public long instructionsUsed() {
    return budget.used();
  }
}
