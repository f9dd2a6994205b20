package dev.keystone.script;

import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

/**
 * A catalog script's parameters as the script sees them, {@code req.params} and
 * {@code res.params}: a read-only table, nested tables read-only too (a script cannot change
 * what the next request, or another tenant's call, is given). Made from the JSON text once per
 * script state; an engine call with other params makes another.
 */
final class ScriptParams {

  static final String REFUSAL = "params are read-only (set by the tenant's config)";
  /** No params: an empty table, so that {@code req.params.limit or 10} works. */
  static final LuaTable EMPTY = new ReadOnlyTable(REFUSAL);

  private ScriptParams() {
  }

  /** The read-only table for JSON object {@code json}; null or empty text: {@link #EMPTY}. */
  static LuaTable of(String json) {
    if (json == null || json.isEmpty()) {
      return EMPTY;
    }
    LuaValue v = JsonCodec.decode(json);
    if (!v.istable()) {
      throw new IllegalArgumentException("params: a JSON object expected");
    }
    return frozen((LuaTable) v);
  }

  private static LuaTable frozen(LuaTable t) {
    ReadOnlyTable out = new ReadOnlyTable(REFUSAL);
    for (LuaValue k = t.next(LuaValue.NIL).arg1(); !k.isnil(); k = t.next(k).arg1()) {
      LuaValue v = t.rawget(k);
      out.init(k, v.istable() ? frozen((LuaTable) v) : v);
    }
    return out;
  }
}
