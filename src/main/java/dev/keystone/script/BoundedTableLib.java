package dev.keystone.script;

import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.TwoArgFunction;
import org.luaj.vm2.lib.VarArgFunction;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@code table.concat}, {@code insert}, {@code remove}, {@code unpack} and {@code sort} for
 * sandboxed scripts. LuaJ's run in Java without executing Lua instructions, read the length
 * through {@code __len} in one place and the raw array in another, and count in {@code int}:
 * {@code table.concat({}, "", 1, 2^31-1)} never ends, and a table whose {@code __len} says 1 makes
 * every shift look free. Here every element touched is charged to the call's budget as it is
 * touched, sizes are computed in {@code long} and checked before anything is allocated, and the
 * raw table is what is read (as Lua 5.2's own library does).
 */
final class BoundedTableLib {

  /** LuaJ's array part, whose size bounds what {@code sort} works on (classpath, same module). */
  private static final VarHandle ARRAY;

  static {
    try {
      ARRAY = MethodHandles.privateLookupIn(LuaTable.class, MethodHandles.lookup())
          .findVarHandle(LuaTable.class, "array", LuaValue[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private BoundedTableLib() {
  }

  static void install(LuaTable table, CallBudget budget) {
    table.rawset("concat", fn(args -> concat(args, budget)));
    table.rawset("insert", fn(args -> {
      LuaTable t = args.checktable(1);
      if (args.narg() < 2) {
        throw new LuaError("bad argument #2 to 'insert' (value expected)");
      }
      long pos = args.narg() == 2 ? (long) t.length() + 1 : args.checklong(2);
      shiftIn(t, index(pos, "insert"), args.arg(args.narg() == 2 ? 2 : 3), budget);
      return LuaValue.NONE;
    }));
    table.rawset("remove", fn(args -> {
      LuaTable t = args.checktable(1);
      int n = t.rawlen();
      long pos = args.isnoneornil(2) ? n : args.checklong(2);
      if (pos == 0) {
        pos = n;
      } else if (pos > n) {
        return LuaValue.NONE;
      }
      int p = index(pos, "remove");
      LuaValue v = t.rawget(p);
      for (LuaValue r = v; !r.isnil(); p++) { // LuaJ's shift: up to the first nil
        budget.charge(1);
        r = t.rawget(p + 1);
        t.rawset(p, r);
      }
      return v.isnil() ? LuaValue.NONE : v;
    }));
    table.rawset("unpack", fn(args -> {
      LuaTable t = args.checktable(1);
      long i = args.isnoneornil(2) ? 1 : args.checklong(2);
      long j = args.isnoneornil(3) ? t.rawlen() : args.checklong(3);
      if (i > j) {
        return LuaValue.NONE;
      }
      long n = j - i + 1; // j - i cannot overflow below: both are checked against int range
      index(i, "unpack");
      index(j, "unpack");
      budget.charge(n);
      budget.checkMemory(8 * n);
      LuaValue[] values = new LuaValue[(int) n];
      for (int k = 0; k < n; k++) {
        values[k] = t.rawget((int) (i + k));
      }
      return LuaValue.varargsOf(values);
    }));
    table.rawset("sort", fn(args -> {
      LuaTable t = args.checktable(1);
      LuaValue[] array = (LuaValue[]) ARRAY.get(t);
      long n = Math.max(1, array == null ? 0 : array.length);
      budget.charge(n * (64 - Long.numberOfLeadingZeros(n))); // heap sort: n log n moves
      // Every comparison is charged, whatever compares: a builtin comparator (rawequal) runs no
      // instruction, yet compares long strings byte by byte (attack on issue 13, F1).
      LuaValue cmp = new ChargedComparison(budget, args.isnoneornil(2) ? null : args.checkfunction(2));
      t.sort(cmp);
      return LuaValue.NONE;
    }));
  }

  /**
   * Compares like {@code <}, or with the script's comparator, charging each comparison before it
   * runs, for the bytes of long strings too (they are compared in Java, uncounted).
   */
  private static final class ChargedComparison extends TwoArgFunction {
    private final CallBudget budget;
    private final LuaValue comparator;

    ChargedComparison(CallBudget budget, LuaValue comparator) {
      this.budget = budget;
      this.comparator = comparator;
    }

    @Override
    public LuaValue call(LuaValue a, LuaValue b) {
      long bytes = a instanceof LuaString s && b instanceof LuaString o ? Math.min(s.length(), o.length()) : 0;
      budget.charge(1 + bytes / 64);
      return comparator == null ? LuaValue.valueOf(a.lt_b(b)) : comparator.call(a, b);
    }
  }

  private static Varargs concat(Varargs args, CallBudget budget) {
    LuaTable t = args.checktable(1);
    LuaString sep = args.isnoneornil(2) ? LuaValue.EMPTYSTRING : args.checkstring(2);
    long i = args.isnoneornil(3) ? 1 : args.checklong(3);
    long j = args.isnoneornil(4) ? t.length() : args.checklong(4);
    if (i > j) {
      return LuaValue.EMPTYSTRING;
    }
    index(i, "concat");
    index(j, "concat");
    long total = 0;
    for (long k = i; k <= j; k++) { // every element is charged before the next is looked at
      budget.charge(1);
      total += part(t, (int) k).length() + (k > i ? sep.length() : 0);
      if (total > Integer.MAX_VALUE) {
        budget.checkLength(total);
      }
    }
    budget.checkLength(total);
    byte[] out = new byte[(int) total];
    int at = 0;
    for (long k = i; k <= j; k++) {
      if (k > i) {
        sep.copyInto(0, out, at, sep.length());
        at += sep.length();
      }
      LuaString s = part(t, (int) k);
      s.copyInto(0, out, at, s.length());
      at += s.length();
    }
    return LuaString.valueUsing(out);
  }

  private static LuaString part(LuaTable t, int k) {
    LuaValue v = t.rawget(k);
    if (!v.isstring()) {
      throw new LuaError("invalid value (at index " + k + ") in table for 'concat'");
    }
    return v.checkstring();
  }

  /** LuaJ's insert: the value goes to pos and each element moves up, to the first nil. */
  private static void shiftIn(LuaTable t, int pos, LuaValue value, CallBudget budget) {
    for (LuaValue v = value; !v.isnil(); ) {
      budget.charge(1);
      LuaValue next = t.rawget(pos);
      t.rawset(pos++, v);
      v = next;
    }
  }

  /** A list position; LuaJ's tables index arrays by int. */
  private static int index(long pos, String fn) {
    if (pos < Integer.MIN_VALUE + 1 || pos > Integer.MAX_VALUE - 1) {
      throw new LuaError("bad argument to '" + fn + "' (position " + pos + " out of range)");
    }
    return (int) pos;
  }

  interface Body {
    Varargs call(Varargs args);
  }

  private static VarArgFunction fn(Body body) {
    return new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        return body.call(args);
      }
    };
  }
}
