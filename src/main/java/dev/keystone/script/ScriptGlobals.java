package dev.keystone.script;

import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaValue;

/**
 * A script's globals: writable while its top level runs (which defines its functions and
 * settings), read-only once it has loaded. A request that could add to the globals could make
 * the state grow with every request until the heap is gone; what must outlive a request lives in
 * {@code kv}, which is bounded.
 */
final class ScriptGlobals extends Globals {

  private boolean frozen;

  void freeze() {
    frozen = true;
  }

  /** The freezer's own write, replacing a value by its frozen copy. */
  void replace(LuaValue key, LuaValue value) {
    super.rawset(key, value);
  }

  @Override
  public void rawset(LuaValue key, LuaValue value) {
    if (frozen) {
      throw new LuaError("global '" + key.tojstring() + "' " + StateFreezer.FROZEN);
    }
    super.rawset(key, value);
  }

  @Override
  public void rawset(int key, LuaValue value) {
    if (frozen) {
      throw new LuaError("global [" + key + "] " + StateFreezer.FROZEN);
    }
    super.rawset(key, value);
  }

  @Override
  public LuaValue setmetatable(LuaValue metatable) {
    if (frozen) {
      throw new LuaError("the globals' metatable " + StateFreezer.FROZEN);
    }
    return super.setmetatable(metatable);
  }
}
