package dev.keystone.script;

import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

/**
 * A Lua table that refuses every write, for what all scripts share (the string library and the
 * strings' metatable): one tenant's script must not be able to change another's {@code string}.
 */
final class ReadOnlyTable extends LuaTable {

  /** A read-only copy of {@code source}'s entries. */
  static ReadOnlyTable copyOf(LuaTable source) {
    ReadOnlyTable t = new ReadOnlyTable();
    for (LuaValue k = source.next(NIL).arg1(); !k.isnil(); k = source.next(k).arg1()) {
      t.init(k, source.rawget(k));
    }
    return t;
  }

  private void init(LuaValue key, LuaValue value) {
    super.rawset(key, value);
  }

  /** The gateway's own write (a backend's health flag); scripts cannot call this. */
  void replace(LuaValue key, LuaValue value) {
    super.rawset(key, value);
  }

  @Override
  public void rawset(LuaValue key, LuaValue value) {
    throw new LuaError("attempt to modify a read-only table");
  }

  @Override
  public void rawset(int key, LuaValue value) {
    throw new LuaError("attempt to modify a read-only table");
  }

  @Override
  public LuaValue setmetatable(LuaValue metatable) {
    throw new LuaError("attempt to change the metatable of a read-only table");
  }

  @Override
  public void sort(LuaValue comparator) {
    throw new LuaError("attempt to sort a read-only table");
  }
}
