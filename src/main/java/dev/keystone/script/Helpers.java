package dev.keystone.script;

import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;

import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The helpers real rollouts need, as script globals: {@code hash} (stable, for sticky A/B
 * splits), {@code random}, {@code now}, {@code log} (tagged with tenant and request id),
 * {@code json.encode}/{@code json.decode} and {@code kv} (the tenant's key/value store).
 */
final class Helpers {

  private static final Logger LOG = Logger.getLogger("keystone.script");

  private Helpers() {
  }

  /**
   * FNV-1a (32 bit) of the UTF-8 bytes, as a non-negative number below 2^31. Documented and
   * fixed: the same user lands in the same bucket on every instance and every version.
   */
  static long hash(String s) {
    int h = 0x811c9dc5;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x01000193;
    }
    return h & 0x7fffffffL;
  }

  static void install(Globals g, ScriptEnvironment env, Supplier<ScriptRequest> current) {
    g.set("hash", fn(a -> LuaValue.valueOf(hash(a.checkjstring(1)))));
    g.set("random", fn(a -> {
      double r = env.random();
      if (a.narg() == 0) {
        return LuaValue.valueOf(r);
      }
      long lo = a.narg() >= 2 ? a.checklong(1) : 1;
      long hi = a.narg() >= 2 ? a.checklong(2) : a.checklong(1);
      if (lo > hi) {
        throw new LuaError("random: interval is empty");
      }
      return LuaValue.valueOf((double) (lo + (long) Math.floor(r * (hi - lo + 1))));
    }));
    g.set("now", fn(a -> LuaValue.valueOf(env.clock().millis() / 1000.0)));
    g.set("log", fn(a -> {
      StringBuilder sb = new StringBuilder();
      for (int i = 1; i <= a.narg(); i++) {
        sb.append(i > 1 ? " " : "").append(a.arg(i).tojstring());
      }
      ScriptRequest r = current.get();
      String who = r == null ? "" : "tenant=" + r.tenant() + " request_id=" + r.requestId() + " ";
      LOG.info(who + "script: " + (sb.length() > 2000 ? sb.substring(0, 2000) + "..." : sb));
      return LuaValue.NONE;
    }));
    LuaTable json = new LuaTable();
    json.set("encode", fn(a -> {
      String s = JsonCodec.encode(a.arg1());
      Sandbox.checkLength(s.length());
      return LuaValue.valueOf(s);
    }));
    json.set("decode", fn(a -> JsonCodec.decode(a.checkjstring(1))));
    g.set("json", json);
    g.set("kv", kv(current));
  }

  private static LuaTable kv(Supplier<ScriptRequest> current) {
    Function<Varargs, KeyValueStore> store = a -> {
      ScriptRequest r = current.get();
      if (r == null || r.kv() == null) {
        throw new LuaError("kv is only available while handling a request");
      }
      return r.kv();
    };
    LuaTable kv = new LuaTable();
    kv.set("get", fn(a -> toLua(guard(() -> store.apply(a).get(a.checkjstring(1))))));
    kv.set("set", fn(a -> {
      Object v = fromLua(a.arg(2));
      guard(() -> {
        store.apply(a).set(a.checkjstring(1), v, a.optdouble(3, 0));
        return null;
      });
      return LuaValue.NONE;
    }));
    kv.set("delete", fn(a -> {
      guard(() -> {
        store.apply(a).set(a.checkjstring(1), null, 0);
        return null;
      });
      return LuaValue.NONE;
    }));
    kv.set("incr", fn(a -> LuaValue.valueOf(guard(() ->
        store.apply(a).incr(a.checkjstring(1), a.optdouble(2, 1), a.optdouble(3, 0))))));
    return kv;
  }

  private static <T> T guard(Supplier<T> action) {
    try {
      return action.get();
    } catch (IllegalArgumentException e) {
      throw new LuaError(e.getMessage());
    }
  }

  private static Object fromLua(LuaValue v) {
    return switch (v.type()) {
      case LuaValue.TNIL -> null;
      case LuaValue.TBOOLEAN -> v.toboolean();
      case LuaValue.TNUMBER -> v.todouble();
      case LuaValue.TSTRING -> v.tojstring();
      default -> throw new LuaError("kv values are strings, numbers or booleans, not a " + v.typename());
    };
  }

  private static LuaValue toLua(Object o) {
    if (o == null) {
      return LuaValue.NIL;
    } else if (o instanceof Boolean b) {
      return LuaValue.valueOf(b);
    } else if (o instanceof Number n) {
      return LuaValue.valueOf(n.doubleValue());
    }
    return LuaValue.valueOf(o.toString());
  }

  interface Body {
    Varargs call(Varargs args);
  }

  static VarArgFunction fn(Body body) {
    return new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        return body.call(args);
      }
    };
  }
}
