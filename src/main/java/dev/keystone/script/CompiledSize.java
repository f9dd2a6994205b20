package dev.keystone.script;

import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Prototype;

import java.util.ArrayDeque;

/**
 * An upper estimate of the heap a compiled chunk keeps: its function prototypes with their code,
 * line numbers, constants, locals and upvalue descriptions. Compiled code is several times the
 * size of its source (a script of 60,000 one-line functions keeps about 6 times its size, attack
 * R5-T1), so what scripts keep is bounded by this, not by their file sizes. Conservative: shared
 * constant strings are counted once per function that uses them.
 */
final class CompiledSize {

  /** A Prototype object and the headers of its arrays. */
  private static final long PROTOTYPE = 160;
  private static final long REFERENCE = 8;
  private static final long ARRAY = 16;

  private CompiledSize() {
  }

  static long of(Prototype chunk) {
    long total = 0;
    ArrayDeque<Prototype> todo = new ArrayDeque<>();
    todo.push(chunk);
    while (!todo.isEmpty()) {
      Prototype p = todo.pop();
      total += PROTOTYPE;
      total += ints(p.code) + ints(p.lineinfo);
      if (p.k != null) {
        total += ARRAY + REFERENCE * p.k.length;
        for (LuaValue k : p.k) {
          total += k instanceof LuaString s ? 48 + s.m_length : 24;
        }
      }
      if (p.locvars != null) {
        total += ARRAY + (REFERENCE + 32) * p.locvars.length;
      }
      if (p.upvalues != null) {
        total += ARRAY + (REFERENCE + 32) * p.upvalues.length;
      }
      if (p.p != null) {
        total += ARRAY + REFERENCE * p.p.length;
        for (Prototype child : p.p) {
          todo.push(child);
        }
      }
    }
    return total;
  }

  private static long ints(int[] a) {
    return a == null ? 0 : ARRAY + 4L * a.length;
  }
}
