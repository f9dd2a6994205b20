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
    LuaValue rep = lib.rawget("rep");
    lib.rawset("rep", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        long n = Math.max(0, args.optlong(2, 0));
        long unit = args.checkstring(1).length() + (args.isnoneornil(3) ? 0 : args.checkstring(3).length());
        checkLength(n * unit);
        return rep.invoke(args);
      }
    });
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
        long total = args.checkstring(1).length();
        for (int a = 2; a <= args.narg(); a++) {
          total += args.arg(a).isstring() ? args.arg(a).checkstring().length() : 0;
          total += 100; // a number or a padded field
        }
        meter().checkLength(total);
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

  /** Lua's string positions: negative counts from the end. */
  private static long relative(long pos, int len) {
    return pos >= 0 ? pos : len + pos + 1;
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
  static Globals globals(CallBudget budget) {
    Globals g = new Globals();
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

    LuaTable table = (LuaTable) g.get("table");
    LuaValue concat = table.rawget("concat");
    table.rawset("concat", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        LuaTable t = args.checktable(1);
        long sep = args.isnoneornil(2) ? 0 : args.checkstring(2).length();
        int from = args.optint(3, 1);
        int to = args.isnoneornil(4) ? t.length() : args.checkint(4);
        long total = 0;
        for (int i = from; i <= to; i++) {
          LuaValue v = t.rawget(i);
          total += (v.isstring() ? v.checkstring().length() : 0) + sep;
          budget.checkLength(total);
        }
        return concat.invoke(args);
      }
    });
    LuaValue unpack = table.rawget("unpack");
    table.rawset("unpack", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        LuaTable t = args.checktable(1);
        long i = args.optint(2, 1);
        long j = args.isnoneornil(3) ? t.length() : args.checkint(3);
        budget.charge(Math.max(0, j - i + 1)); // one value per element, allocated at once
        return unpack.invoke(args);
      }
    });
    // insert/remove at a position shift the rest of the list, and sort runs entirely in Java:
    // charge that work, so a loop of them cannot hold the event loop between deadline checks.
    LuaValue insert = table.rawget("insert");
    table.rawset("insert", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        budget.charge(args.narg() >= 3 ? Math.max(1, args.checktable(1).length()) : 1);
        return insert.invoke(args);
      }
    });
    LuaValue remove = table.rawget("remove");
    table.rawset("remove", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        budget.charge(Math.max(1, args.checktable(1).length()));
        return remove.invoke(args);
      }
    });
    LuaValue sort = table.rawget("sort");
    table.rawset("sort", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        long n = args.checktable(1).length();
        budget.charge(Math.max(1, n * (64 - Long.numberOfLeadingZeros(Math.max(1, n)))));
        return sort.invoke(args);
      }
    });
    for (String name : REMOVED_GLOBALS) {
      g.set(name, LuaValue.NIL);
    }
    return g;
  }
}
