package dev.keystone.script;

import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;

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
   * FNV-1a (32 bit) of the string's UTF-8 bytes, as a non-negative number below 2^31. Documented
   * and fixed: the same user lands in the same bucket on every instance and every version. ASCII
   * (user ids, keys) is hashed from the Lua string itself, allocating nothing whatever its size;
   * other text goes through Java's UTF-8 encoder, as LuaJ stores characters outside the BMP in
   * its own way, and that copy is charged to the call's memory budget first.
   */
  static long hash(org.luaj.vm2.LuaString s) {
    int h = 0x811c9dc5;
    for (int i = 0, n = s.length(); i < n; i++) {
      int b = s.luaByte(i);
      if (b >= 0x80) {
        Sandbox.checkMemory(6L * n);
        return hash(s.tojstring());
      }
      h ^= b;
      h *= 0x01000193;
    }
    return h & 0x7fffffffL;
  }

  static long hash(String s) {
    return Fnv1a.of(s);
  }

  static void install(Globals g, ScriptEnvironment env, Supplier<ScriptRequest> current) {
    g.set("hash", fn(a -> {
      Sandbox.charge(1 + a.checkstring(1).length() / 64);
      return LuaValue.valueOf(hash(a.checkstring(1)));
    }));
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
      // Built to its final size only: arguments are cut before they are turned into text, and
      // control characters are escaped, so a script cannot forge a line of the gateway's log.
      // At most MAX_LOG_LINES lines a call, and the tenant's LogBudget a second.
      Sandbox.charge(1 + a.narg());
      CallBudget call = Sandbox.CURRENT.get();
      int verdict = call == null ? 0 : call.logLine();
      if (verdict == 2) {
        return LuaValue.NONE;
      }
      ScriptRequest r = current.get();
      String note = r == null ? "" : env.logBudget(r.tenant()).acquire();
      if (note == null) {
        return LuaValue.NONE;
      }
      String who = r == null ? "" : "tenant=" + r.tenant() + " request_id=" + r.requestId() + " ";
      if (verdict == 1) {
        LOG.info(who + "log=\"(further log lines of this call dropped: at most " + CallBudget.MAX_LOG_LINES + " a call)\"" + note);
        return LuaValue.NONE;
      }
      StringBuilder sb = new StringBuilder();
      for (int i = 1; i <= a.narg() && sb.length() < MAX_LOG; i++) {
        sb.append(i > 1 ? " " : "").append(shortText(a.arg(i), MAX_LOG - sb.length(), true));
      }
      LOG.info(who + "log=\"" + sb + "\"" + note);
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
    g.set("rate_limit", fn(a -> {
      // rate_limit(key, limit, window_seconds) -> allowed, remaining, retry_after (seconds)
      Sandbox.charge(1 + a.checkstring(1).length() / 64);
      String key = a.checkjstring(1);
      long limit = a.checklong(2);
      double seconds = a.checkdouble(3);
      if (limit < 1 || limit > 1_000_000_000L) {
        throw new LuaError("rate_limit: the limit is a whole number from 1 to 1000000000");
      }
      if (!(seconds >= 1 && seconds <= 86_400)) {
        throw new LuaError("rate_limit: the window is 1 to 86400 seconds");
      }
      ScriptRequest r = current.get();
      if (r == null) {
        throw new LuaError("rate_limit is only available while handling a request");
      }
      ScriptRateLimits.Answer d = guard(() -> env.rateLimit(r.tenant(), key, limit, (long) (seconds * 1000)));
      return LuaValue.varargsOf(LuaValue.valueOf(d.allowed()), LuaValue.valueOf((double) d.remaining()),
          LuaValue.valueOf((double) d.retryAfter()));
    }));
  }

  /** The longest line {@code log} writes. */
  static final int MAX_LOG = 2000;

  /**
   * A value as text for logs and messages: at most {@code max} characters (a longer string is cut,
   * before it is decoded, and marked "..."), control characters escaped ({@code \n}, {@code \x01}).
   */
  static String shortText(LuaValue v, int max) {
    return shortText(v, max, false);
  }

  /** The same; {@code quote}: for the inside of a quoted log field (see {@link LogText#quoted}). */
  static String shortText(LuaValue v, int max, boolean quote) {
    if (v instanceof org.luaj.vm2.LuaString s && s.length() > max) { // cut before it is decoded
      return LogText.of(s.substring(0, Math.max(0, max)).tojstring(), max, true, quote);
    }
    return LogText.of(v.tojstring(), max, false, quote);
  }

  public static String printable(String text, int max) {
    return LogText.of(text, max, false);
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
