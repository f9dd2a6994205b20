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
 * instruction and around every call, so this subclass counts instructions, checks the clock and
 * the bytes the thread allocated ({@link AllocationMeter}) every 256 instructions and in every
 * helper, caps the call depth, refuses a concatenation whose result would be too long before it
 * is built, and refuses writes to the upvalues frozen when the script loaded
 * ({@link StateFreezer}). The count lives here, on the Java side, and is reset by
 * {@link #start()} for each call: LuaJ's own count hook would keep counting across calls.
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
  private long allocatedAtStart;
  private int logLines;
  /** The upvalues of the loaded script, which calls may read but not change; null while it loads. */
  private java.util.Set<org.luaj.vm2.UpValue> frozenUpvalues;

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

  /** The running call's deadline (ns): the limits', or less when the caller asked for less. */
  private long callDeadlineNanos;

  /** Starts a new call with the full budget. */
  void start() {
    start(deadlineNanos);
  }

  /** Starts a new call with the full budget and a deadline of at most {@code maxNanos}. */
  void start(long maxNanos) {
    lastProto = null;
    remaining = limits.instructions();
    callDeadlineNanos = Math.max(1_000_000, Math.min(deadlineNanos, maxNanos));
    deadline = System.nanoTime() + callDeadlineNanos;
    allocatedAtStart = AllocationMeter.allocated();
    logLines = 0;
    for (int i = 0; i < depth; i++) {
      closures[i] = null;
      stacks[i] = null;
    }
    depth = 0;
  }

  long used() {
    return limits.instructions() - remaining;
  }

  /** The most log lines one call writes. */
  static final int MAX_LOG_LINES = 20;

  /** Counts a log line of this call: 0 write it, 1 write a note that the rest is dropped, 2 drop it. */
  int logLine() {
    logLines++;
    return logLines <= MAX_LOG_LINES ? 0 : logLines == MAX_LOG_LINES + 1 ? 1 : 2;
  }

  /** Bytes allocated by the current (or last) call so far. */
  long allocated() {
    return AllocationMeter.allocated() - allocatedAtStart;
  }

  /** From now on, writes to these upvalues are refused: state that outlives a call lives in kv. */
  void freeze(java.util.Set<org.luaj.vm2.UpValue> upvalues) {
    frozenUpvalues = upvalues;
  }

  /** Refuses the call if it has allocated its budget, counting {@code more} bytes about to be. */
  void checkMemory(long more) {
    long used = allocated();
    if (used + more > limits.maxMemory()) {
      throw new ScriptLimitError("memory budget of " + (limits.maxMemory() >> 20) + " MiB per call used up ("
          + (used >> 20) + " MiB allocated" + (more > 0 ? ", " + (more >> 10) + " KiB more asked" : "") + ")");
    }
  }

  private void checkClock(String where) {
    if (System.nanoTime() - deadline > 0) {
      throw new ScriptLimitError("deadline of " + callDeadlineNanos / 1_000_000 + " ms passed" + where);
    }
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
    if ((remaining & 255) == 0) {
      checkClock("");
      checkMemory(0);
    }
    LuaClosure c = depth > 0 ? closures[depth - 1] : null;
    if (c != null) {
      lastProto = c.p;
      lastPc = pc;
      int i = c.p.code[pc];
      int op = i & 0x3f;
      if (op == Lua.OP_CONCAT) {
        checkConcat(stacks[depth - 1], i >>> 23, (i >> 14) & 0x1ff);
      } else if (op == Lua.OP_SETUPVAL && frozenUpvalues != null) {
        checkUpvalue(c, i >>> 23);
      } else if (op == Lua.OP_EQ || op == Lua.OP_LT || op == Lua.OP_LE) {
        chargeComparison(c, stacks[depth - 1], i >>> 23, (i >> 14) & 0x1ff);
      }
    }
  }

  /**
   * if (RK(B) op RK(C)) ...: two long strings are compared byte by byte in Java, one instruction
   * for up to 1 MiB of work; charge it like a copy, so a loop of them meets the budget.
   */
  private void chargeComparison(LuaClosure c, LuaValue[] stack, int b, int cc) {
    LuaValue x = b > 0xff ? c.p.k[b & 0xff] : b < stack.length ? stack[b] : null;
    LuaValue y = cc > 0xff ? c.p.k[cc & 0xff] : cc < stack.length ? stack[cc] : null;
    if (x instanceof LuaString s && y instanceof LuaString t && s != t) {
      remaining -= Math.min(s.m_length, t.m_length) / 256;
    }
  }

  /** UpValue[B] := R(A): refused for an upvalue of the loaded script (memory kept across calls). */
  private void checkUpvalue(LuaClosure c, int b) {
    if (b < c.upValues.length && frozenUpvalues.contains(c.upValues[b])) {
      String name = b < c.p.upvalues.length && c.p.upvalues[b].name != null ? c.p.upvalues[b].name.tojstring() : "?";
      throw new org.luaj.vm2.LuaError("local '" + name + "' of the script's top level " + StateFreezer.FROZEN);
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
    remaining -= total / 256; // the copy; the next instruction notices a budget used up
  }

  /** Library work that runs no Lua instruction (pattern matching) pays from the same budget. */
  @Override
  public void charge(long steps) {
    remaining -= steps;
    if (remaining < 0) {
      throw new ScriptLimitError("instruction budget of " + limits.instructions() + " used up (in a library call)");
    }
    sinceClock += steps;
    if (sinceClock > 256) {
      sinceClock = 0;
      checkClock(" (in a library call)");
      checkMemory(0);
    }
  }

  /** A string of {@code length} bytes is about to be built: within the string limit and the memory budget? */
  @Override
  public void checkLength(long length) {
    if (length > limits.maxString()) {
      throw new ScriptLimitError("string of " + length + " bytes above the limit of " + limits.maxString());
    }
    checkMemory(length);
  }

  @Override
  public String traceback(int level) {
    return ""; // call frames are not tracked (that would cost on every call); messages carry file:line
  }
}
