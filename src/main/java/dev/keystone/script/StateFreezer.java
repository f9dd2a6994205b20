package dev.keystone.script;

import org.luaj.vm2.LuaClosure;
import org.luaj.vm2.LuaFunction;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.UpValue;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Makes a loaded script's state read-only, so that no request can make it grow: everything
 * reachable from its globals and from the upvalues of its functions (the only roots a Lua state
 * keeps between calls) is replaced by a read-only copy, the globals refuse writes, and the
 * upvalues found are handed to the {@link CallBudget}, which refuses {@code SETUPVAL} on them.
 * Memory a script keeps is then what its top level built, within one call's memory budget;
 * counters and flags go to {@code kv}, which is bounded.
 *
 * <p>The walk uses a work list, not recursion: a long linked list built at load must not
 * overflow the stack. Tables already read-only (the shared string library) are kept as they are.
 */
final class StateFreezer {

  static final String FROZEN =
      "cannot be changed after the script has loaded: keep what outlives a request in kv (kv.set, kv.incr)";

  /** What a frozen state keeps: the upvalues to guard and an estimate of its bytes. */
  record Frozen(Set<UpValue> upvalues, long bytes) {
  }

  /**
   * A value the state may not keep: a function object of the libraries that is not one the
   * sandbox provides (a {@code string.gmatch} iterator holds its subject string, and nothing
   * here can see or count what such Java objects hold: attack on issue 13, F6).
   */
  static final class Unkeepable extends RuntimeException {
    Unkeepable(String message) {
      super(message, null, false, false);
    }
  }

  /** The functions the sandbox provides: the only non-Lua functions a state may keep. */
  private final Set<LuaValue> provided;
  private final Map<LuaValue, LuaValue> copies = new IdentityHashMap<>();
  private final Set<LuaValue> strings = Collections.newSetFromMap(new IdentityHashMap<>());
  private long bytes;
  private final Set<UpValue> upvalues = Collections.newSetFromMap(new IdentityHashMap<>());
  private final ArrayDeque<Object[]> tables = new ArrayDeque<>();
  private final ArrayDeque<LuaClosure> closures = new ArrayDeque<>();

  private StateFreezer(Set<LuaValue> provided) {
    this.provided = provided;
  }

  /**
   * The functions reachable from fresh globals (before the script runs): in the globals and in
   * their library tables, and in those tables' metatables.
   */
  static Set<LuaValue> provided(LuaTable globals) {
    Set<LuaValue> out = Collections.newSetFromMap(new IdentityHashMap<>());
    Set<LuaValue> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    ArrayDeque<LuaValue> work = new ArrayDeque<>();
    work.add(globals);
    while (!work.isEmpty()) {
      LuaValue v = work.poll();
      if (v instanceof LuaFunction) {
        out.add(v);
      } else if (v instanceof LuaTable t && seen.add(t)) {
        for (LuaValue k = t.next(LuaValue.NIL).arg1(); !k.isnil(); k = t.next(k).arg1()) {
          work.add(t.rawget(k));
        }
        if (t.getmetatable() != null) {
          work.add(t.getmetatable());
        }
      }
    }
    return out;
  }

  /**
   * Freezes {@code globals} and what it reaches; returns the upvalues to guard and the state's size.
   *
   * @param provided what {@link #provided} found before the script ran
   * @throws Unkeepable when the state keeps a library object that is not one of them
   */
  static Frozen freeze(ScriptGlobals globals, Set<LuaValue> provided) {
    StateFreezer f = new StateFreezer(provided);
    f.copies.put(globals, globals);
    for (LuaValue k = globals.next(LuaValue.NIL).arg1(); !k.isnil(); k = globals.next(k).arg1()) {
      LuaValue v = globals.rawget(k);
      LuaValue frozen = f.frozen(v);
      if (frozen != v) {
        globals.replace(k, frozen);
      }
    }
    LuaValue meta = globals.getmetatable();
    if (meta != null) {
      globals.setmetatable(f.frozen(meta));
    }
    f.drain();
    globals.freeze();
    return new Frozen(f.upvalues, f.bytes);
  }

  /** The frozen stand-in of {@code v}: a read-only copy for a table, {@code v} itself otherwise. */
  private LuaValue frozen(LuaValue v) {
    if (v instanceof LuaClosure c) {
      if (copies.put(c, c) == null) {
        closures.add(c);
        bytes += 48 + 16L * c.upValues.length;
      }
      return c;
    }
    if (v instanceof LuaFunction && !provided.contains(v)) {
      throw new Unkeepable("its top level keeps a library object (" + v.tojstring() + ", such as a string.gmatch "
          + "iterator) whose memory can't be counted: keep strings, numbers, tables and functions");
    }
    if (v instanceof org.luaj.vm2.LuaString s) {
      if (strings.add(s)) {
        bytes += 48 + s.m_bytes.length; // a substring keeps its whole backing array
      }
      return v;
    }
    if (!(v instanceof LuaTable t) || v instanceof ReadOnlyTable) {
      return v;
    }
    LuaValue done = copies.get(t);
    if (done != null) {
      return done;
    }
    ReadOnlyTable copy = new ReadOnlyTable("table " + FROZEN);
    copies.put(t, copy);
    bytes += 96;
    tables.add(new Object[] {t, copy});
    return copy;
  }

  private void drain() {
    while (!tables.isEmpty() || !closures.isEmpty()) {
      Object[] pair = tables.poll();
      if (pair != null) {
        LuaTable source = (LuaTable) pair[0];
        ReadOnlyTable copy = (ReadOnlyTable) pair[1];
        for (LuaValue k = source.next(LuaValue.NIL).arg1(); !k.isnil(); k = source.next(k).arg1()) {
          copy.init(frozen(k), frozen(source.rawget(k)));
          bytes += 48; // a slot
        }
        LuaValue meta = source.getmetatable();
        if (meta != null) {
          copy.initMetatable(frozen(meta));
        }
        continue;
      }
      LuaClosure c = closures.poll();
      for (UpValue u : c.upValues) {
        if (u != null && upvalues.add(u)) {
          u.setValue(frozen(u.getValue()));
        }
      }
    }
  }
}
