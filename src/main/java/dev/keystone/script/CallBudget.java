package dev.keystone.script;

import org.luaj.vm2.Lua;
import org.luaj.vm2.LuaClosure;
import org.luaj.vm2.LuaFunction;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.DebugLib;

/**
 * Enforces {@link ScriptLimits} from inside the Lua VM. LuaJ calls its debug library before every
 * instruction and around every call, so this subclass counts instructions, checks the clock,
 * caps the call depth and refuses a concatenation whose result would be too long, before it is
 * built. The count lives here, on the Java side, and is reset by {@link #start()} for each call:
 * LuaJ's own count hook would keep counting across calls.
 *
 * <p>It is installed as the globals' debug library but the {@code debug} table itself is not
 * given to scripts. One per Lua state; not thread-safe (neither is the state).
 */
final class CallBudget extends DebugLib implements org.luaj.vm2.lib.BoundedMatching.Meter {

  private final ScriptLimits limits;
  private final long deadlineNanos;
  private final LuaClosure[] closures;
  private final LuaValue[][] stacks;
  private org.luaj.vm2.Prototype lastProto;
  private int lastPc;
  private long remaining;
  private long sinceClock;
  private long deadline;
  private int depth;

  CallBudget(ScriptLimits limits) {
    this.limits = limits;
    this.deadlineNanos = limits.deadline().toNanos();
    this.closures = new LuaClosure[limits.maxDepth() + 1];
    this.stacks = new LuaValue[limits.maxDepth() + 1][];
  }

  /**
   * Where the script was when it last ran an instruction ("canary.lua:12"), or null: errors raised
   * by the gateway's own functions and limits carry no line of their own.
   */
  String location() {
    org.luaj.vm2.Prototype p = lastProto;
    if (p == null || p.source == null) {
      return null;
    }
    String source = p.source.tojstring();
    int line = p.lineinfo != null && lastPc >= 0 && lastPc < p.lineinfo.length ? p.lineinfo[lastPc] : 0;
    return (source.startsWith("@") ? source.substring(1) : source) + ":" + line;
  }

  /** Starts a new call with the full budget. */
  void start() {
    lastProto = null;
    remaining = limits.instructions();
    deadline = System.nanoTime() + deadlineNanos;
    for (int i = 0; i < depth; i++) {
      closures[i] = null;
      stacks[i] = null;
    }
    depth = 0;
  }

  long used() {
    return limits.instructions() - remaining;
  }

  @Override
  public void onCall(LuaFunction f) {
    enter(null, null);
  }

  @Override
  public void onCall(LuaClosure c, Varargs varargs, LuaValue[] stack) {
    enter(c, stack);
  }

  private void enter(LuaClosure c, LuaValue[] stack) {
    if (depth >= limits.maxDepth()) {
      throw new ScriptLimitError("call depth above " + limits.maxDepth());
    }
    closures[depth] = c;
    stacks[depth] = stack;
    depth++;
  }

  @Override
  public void onReturn() {
    if (depth > 0) {
      depth--;
      closures[depth] = null;
      stacks[depth] = null;
    }
  }

  @Override
  public void onInstruction(int pc, Varargs v, int top) {
    if (--remaining < 0) {
      throw new ScriptLimitError("instruction budget of " + limits.instructions() + " used up");
    }
    if ((remaining & 1023) == 0 && System.nanoTime() - deadline > 0) {
      throw new ScriptLimitError("deadline of " + limits.deadline().toMillis() + " ms passed");
    }
    LuaClosure c = depth > 0 ? closures[depth - 1] : null;
    if (c != null) {
      lastProto = c.p;
      lastPc = pc;
      int i = c.p.code[pc];
      if ((i & 0x3f) == Lua.OP_CONCAT) {
        checkConcat(stacks[depth - 1], i >>> 23, (i >> 14) & 0x1ff);
      }
    }
  }

  /** R(A) := R(B) .. ... .. R(C): refuse before LuaJ allocates the result. */
  private void checkConcat(LuaValue[] stack, int b, int c) {
    long total = 0;
    for (int r = b; r <= c && r < stack.length; r++) {
      LuaValue v = stack[r];
      total += v instanceof LuaString s ? s.m_length : 32;
    }
    checkLength(total);
  }

  /** Library work that runs no Lua instruction (pattern matching) pays from the same budget. */
  @Override
  public void charge(long steps) {
    remaining -= steps;
    if (remaining < 0) {
      throw new ScriptLimitError("instruction budget of " + limits.instructions() + " used up (in a library call)");
    }
    sinceClock += steps;
    if (sinceClock > 4096) {
      sinceClock = 0;
      if (System.nanoTime() - deadline > 0) {
        throw new ScriptLimitError("deadline of " + limits.deadline().toMillis() + " ms passed (in a library call)");
      }
    }
  }

  @Override
  public void checkLength(long length) {
    if (length > limits.maxString()) {
      throw new ScriptLimitError("string of " + length + " bytes above the limit of " + limits.maxString());
    }
  }

  @Override
  public String traceback(int level) {
    return ""; // call frames are not tracked (that would cost on every call); messages carry file:line
  }
}
