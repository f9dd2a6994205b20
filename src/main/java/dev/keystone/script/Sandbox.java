package dev.keystone.script;

import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.Bit32Lib;
import org.luaj.vm2.lib.BoundedMatching;
import org.luaj.vm2.lib.PackageLib;
import org.luaj.vm2.lib.StringLib;
import org.luaj.vm2.lib.TableLib;
import org.luaj.vm2.lib.VarArgFunction;
import org.luaj.vm2.lib.jse.JseBaseLib;
import org.luaj.vm2.lib.jse.JseMathLib;
import org.luaj.vm2.lib.jse.JseOsLib;

/**
 * Builds the globals a script sees: Lua's base functions, {@code string}, {@code table},
 * {@code math}, {@code bit32} and the clock part of {@code os}, and nothing that reaches outside
 * the script. Absent on purpose: {@code io}, the rest of {@code os}, {@code debug},
 * {@code luajava}, {@code package}/{@code require}, {@code coroutine} (LuaJ runs each coroutine
 * on its own Java thread), {@code load}/{@code loadstring}/{@code dofile}/{@code loadfile} (no
 * code from text or bytecode at run time; scripts are compiled once, at config load),
 * {@code collectgarbage} and {@code string.dump}.
 *
 * <p>The string library is one read-only table shared by every script, and so is the strings'
 * metatable (LuaJ keeps it in a static field): {@code getmetatable("").__index.upper = ...} fails.
 */
final class Sandbox {

  /** The budget of the call running on this thread, for the shared string functions. */
  static final ThreadLocal<CallBudget> CURRENT = new ThreadLocal<>();

  private static final String[] REMOVED_GLOBALS = {
      "dofile", "loadfile", "load", "loadstring", "require", "module", "package", "debug",
      "collectgarbage", "print"};
  private static final String[] OS_KEPT = {"time", "clock", "date", "difftime"};

  static final ReadOnlyTable STRING = sharedStringLibrary();

  private Sandbox() {
  }

  private static ReadOnlyTable sharedStringLibrary() {
    Globals scratch = new Globals();
    scratch.load(new JseBaseLib());
    scratch.load(new PackageLib());
    LuaString.s_metatable = null;
    scratch.load(new StringLib());
    LuaTable lib = (LuaTable) scratch.get("string");
    lib.rawset("dump", LuaValue.NIL);
    lib.rawset("rep", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        return rep(args.checkstring(1), args.checkdouble(2), args.isnoneornil(3) ? null : args.checkstring(3));
      }
    });
    LuaValue reverse = lib.rawget("reverse");
    lib.rawset("reverse", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        meter().checkLength(args.checkstring(1).length()); // a copy as long as the string
        return reverse.invoke(args);
      }
    });
    // Lua's upper and lower change ASCII letters only, byte by byte: LuaJ's go through Java's
    // toUpperCase() in the JVM's default locale ("it" became "İT" on a Turkish host).
    for (boolean upper : new boolean[] {true, false}) {
      lib.rawset(upper ? "upper" : "lower", new VarArgFunction() {
        @Override
        public Varargs invoke(Varargs args) {
          LuaString in = args.checkstring(1);
          meter().checkLength(in.length()); // a copy as long as the string
          byte[] out = new byte[in.length()];
          in.copyInto(0, out, 0, out.length);
          for (int i = 0; i < out.length; i++) {
            byte b = out[i];
            if (upper ? b >= 'a' && b <= 'z' : b >= 'A' && b <= 'Z') {
              out[i] = (byte) (b ^ 0x20);
            }
          }
          return LuaString.valueUsing(out);
        }
      });
    }
    BoundedMatching.install(lib, Sandbox::meter);
    LuaValue bytes = lib.rawget("byte");
    lib.rawset("byte", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        int len = args.checkstring(1).length();
        long i = relative(args.optint(2, 1), len);
        long j = relative(args.isnoneornil(3) ? i : args.checkint(3), len);
        meter().charge(Math.max(0, Math.min(j, len) - Math.max(i, 1) + 1)); // one value per byte
        return bytes.invoke(args);
      }
    });
    LuaValue format = lib.rawget("format");
    lib.rawset("format", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        meter().checkLength(FormatSize.atMost(args.checkstring(1), args));
        return format.invoke(args);
      }
    });
    ReadOnlyTable shared = ReadOnlyTable.copyOf(lib);
    LuaTable meta = new LuaTable();
    meta.rawset(LuaValue.INDEX, shared);
    meta.rawset(LuaValue.METATABLE, LuaValue.valueOf("locked")); // getmetatable("") gives this
    LuaString.s_metatable = ReadOnlyTable.copyOf(meta);
    return shared;
  }

  /** The running script's budget; outside a script call, a meter that only checks sizes. */
  private static BoundedMatching.Meter meter() {
    CallBudget b = CURRENT.get();
    return b != null ? b : UNMETERED;
  }

  private static final BoundedMatching.Meter UNMETERED = new BoundedMatching.Meter() {
    @Override
    public void charge(long steps) {
    }

    @Override
    public void checkLength(long length) {
      Sandbox.checkLength(length);
    }
  };

  /**
   * {@code string.rep} with every size in {@code long} and checked before anything is built: a
   * count of -2^32+2^27 is 0 repetitions here (LuaJ would cast it to 2^27), and neither a huge
   * count nor a separator can overflow the product.
   */
  static LuaString rep(LuaString s, double count, LuaString sep) {
    if (!(count >= 1)) { // also NaN
      return LuaValue.EMPTYSTRING;
    }
    long unit = (long) s.length() + (sep == null ? 0 : sep.length());
    if (unit == 0) {
      return LuaValue.EMPTYSTRING;
    }
    BoundedMatching.Meter meter = meter();
    if (count > Integer.MAX_VALUE) {
      meter.checkLength((long) Math.min(9.0e18, count * unit));
    }
    long n = (long) count;
    long total = n * s.length() + (n - 1) * (sep == null ? 0 : sep.length()); // n < 2^31, lengths < 2^31
    meter.checkLength(total);
    meter.charge(total / 256); // copying: about one instruction's time per 256 bytes
    byte[] out = new byte[(int) total];
    int at = 0;
    for (long i = 0; i < n; i++) {
      if (i > 0 && sep != null) {
        sep.copyInto(0, out, at, sep.length());
        at += sep.length();
      }
      s.copyInto(0, out, at, s.length());
      at += s.length();
    }
    return LuaString.valueUsing(out);
  }

  /** Lua's string positions: negative counts from the end. */
  private static long relative(long pos, int len) {
    return pos >= 0 ? pos : len + pos + 1;
  }

  /** Charges library work done in Java to the running call (nothing outside a call). */
  static void charge(long steps) {
    CallBudget b = CURRENT.get();
    if (b != null) {
      b.charge(steps);
    }
  }

  /** Refuses the running call if {@code bytes} more would exceed its memory budget. */
  static void checkMemory(long bytes) {
    CallBudget b = CURRENT.get();
    if (b != null) {
      b.checkMemory(bytes);
    }
  }

  static void checkLength(long length) {
    CallBudget b = CURRENT.get();
    if (b != null) {
      b.checkLength(length);
    } else if (length > ScriptLimits.DEFAULT.maxString()) {
      throw new ScriptLimitError("string of " + length + " bytes above the limit");
    }
  }

  /** New globals for one Lua state, with {@code budget} installed as its instruction hook. */
  static ScriptGlobals globals(CallBudget budget) {
    ScriptGlobals g = new ScriptGlobals();
    g.load(new JseBaseLib());
    g.load(new PackageLib());
    g.load(new Bit32Lib());
    g.load(new TableLib());
    g.load(new JseMathLib());
    g.load(new JseOsLib());
    budget.call(LuaValue.valueOf("debug"), g); // sets g.debuglib: the hook, not the library
    g.set("string", STRING);

    LuaTable os = (LuaTable) g.get("os");
    LuaTable safeOs = new LuaTable();
    for (String name : OS_KEPT) {
      safeOs.rawset(name, os.rawget(name));
    }
    LuaValue date = os.rawget("date");
    safeOs.rawset("date", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        if (args.optjstring(1, "").length() > 256) { // each %-directive expands: keep the output small
          throw new org.luaj.vm2.LuaError("os.date: format longer than 256 characters");
        }
        return date.invoke(args);
      }
    });
    g.set("os", safeOs);

    BoundedTableLib.install((LuaTable) g.get("table"), budget);
    for (String name : REMOVED_GLOBALS) {
      g.set(name, LuaValue.NIL);
    }
    return g;
  }
}
