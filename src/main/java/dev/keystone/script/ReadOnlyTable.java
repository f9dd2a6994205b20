package dev.keystone.script;

import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

/**
 * A Lua table that refuses every write, for what all scripts share (the string library and the
 * strings' metatable): one tenant's script must not be able to change another's {@code string};
 * and for a script's own tables once it has loaded ({@link StateFreezer}).
 */
final class ReadOnlyTable extends LuaTable {

  private final String refusal;

  ReadOnlyTable() {
    this("attempt to modify a read-only table");
  }

  /** A table whose writes fail with {@code refusal}. */
  ReadOnlyTable(String refusal) {
    this.refusal = refusal;
  }

  /** A read-only copy of {@code source}'s entries. */
  static ReadOnlyTable copyOf(LuaTable source) {
    ReadOnlyTable t = new ReadOnlyTable();
    for (LuaValue k = source.next(NIL).arg1(); !k.isnil(); k = source.next(k).arg1()) {
      t.init(k, source.rawget(k));
    }
    return t;
  }

  /** Fills the table while it is made. */
  void init(LuaValue key, LuaValue value) {
    super.rawset(key, value);
  }

  /** Sets the metatable while the table is made. */
  void initMetatable(LuaValue metatable) {
    super.setmetatable(metatable);
  }

  /** The gateway's own write (a backend's health flag); scripts cannot call this. */
  void replace(LuaValue key, LuaValue value) {
    super.rawset(key, value);
  }

  @Override
  public void rawset(LuaValue key, LuaValue value) {
    throw new LuaError(refusal);
  }

  @Override
  public void rawset(int key, LuaValue value) {
    throw new LuaError(refusal);
  }

  @Override
  public LuaValue setmetatable(LuaValue metatable) {
    throw new LuaError(refusal + " (its metatable)");
  }

  @Override
  public void sort(LuaValue comparator) {
    throw new LuaError(refusal + " (sort)");
  }
}
