package org.luaj.vm2.lib;

import org.luaj.vm2.Buffer;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;

import java.util.function.Supplier;

/**
 * Keystone's pattern functions for sandboxed scripts: string.find, match, gmatch and gsub as in
 * LuaJ 3.0.1's {@link StringLib} (MIT licence; the loops below are LuaJ's), but every matching
 * step is charged to the calling script's budget and gsub's result is held to the string-size
 * limit. LuaJ's matcher runs in Java without executing Lua instructions, so without this a
 * pattern such as {@code ("a"):rep(5000):find(".-.-.-.-b")} would hold an event loop for minutes
 * and a gsub could build a string of any size.
 *
 * <p>It lives in LuaJ's package because the matcher ({@code StringLib.MatchState}) is
 * package-private there; subclassing it keeps LuaJ's matching semantics exactly.
 */
public final class BoundedMatching {

  /** Where matching steps and result sizes are charged (the script's call budget). */
  public interface Meter {
    /** Charges {@code steps} units of matching work; throws when the budget is used up. */
    void charge(long steps);

    /** Throws when a string of {@code length} bytes would be over the limit. */
    void checkLength(long length);
  }

  /** LuaJ's Buffer does not expose its length; read the field (classpath, same module). */
  private static final java.lang.invoke.VarHandle BUFFER_LENGTH;

  static {
    try {
      BUFFER_LENGTH = java.lang.invoke.MethodHandles.privateLookupIn(Buffer.class, java.lang.invoke.MethodHandles.lookup())
          .findVarHandle(Buffer.class, "length", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private BoundedMatching() {
  }

  static int length(Buffer b) {
    return (int) BUFFER_LENGTH.get(b);
  }

  /** A MatchState that pays for its work. */
  static final class Counting extends StringLib.MatchState {
    private final Meter meter;

    Counting(Varargs args, LuaString s, LuaString p, Meter meter) {
      super(args, s, p);
      this.meter = meter;
    }

    @Override
    int match(int soffset, int poffset) {
      meter.charge(1);
      return super.match(soffset, poffset);
    }

    @Override
    int max_expand(int soff, int poff, int ep) {
      int i = 0;
      while (soff + i < s.length() && singlematch(s.luaByte(soff + i), poff, ep)) {
        i++;
      }
      meter.charge(i);
      while (i >= 0) {
        int res = match(soff + i, ep + 1);
        if (res != -1) {
          return res;
        }
        i--;
      }
      return -1;
    }

    @Override
    int matchbalance(int soff, int poff) {
      int res = super.matchbalance(soff, poff);
      meter.charge(res == -1 ? Math.max(1, s.length() - soff) : res - soff);
      return res;
    }

    @Override
    public void add_value(Buffer lbuf, int soffset, int end, LuaValue repl) {
      super.add_value(lbuf, soffset, end, repl);
      meter.checkLength(length(lbuf));
    }
  }

  /** Puts bounded find, match, gmatch and gsub into {@code string}. */
  public static void install(LuaTable string, Supplier<Meter> meters) {
    string.rawset("find", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        return findAux(args, true, meters.get());
      }
    });
    string.rawset("match", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        return findAux(args, false, meters.get());
      }
    });
    string.rawset("gmatch", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        LuaString src = args.checkstring(1);
        LuaString pat = args.checkstring(2);
        Counting ms = new Counting(args, src, pat, meters.get());
        return new VarArgFunction() {
          private int soffset;

          @Override
          public Varargs invoke(Varargs ignored) {
            for (; soffset < src.length(); soffset++) {
              ms.reset();
              int res = ms.match(soffset, 0);
              if (res >= 0) {
                int soff = soffset;
                soffset = res;
                return ms.push_captures(true, soff, res);
              }
            }
            return NIL;
          }
        };
      }
    });
    string.rawset("gsub", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs args) {
        return gsub(args, meters.get());
      }
    });
  }

  private static Varargs findAux(Varargs args, boolean find, Meter meter) {
    LuaString s = args.checkstring(1);
    LuaString pat = args.checkstring(2);
    int init = args.optint(3, 1);
    if (init > 0) {
      init = Math.min(init - 1, s.length());
    } else if (init < 0) {
      init = Math.max(0, s.length() + init);
    }
    boolean plain = find && (args.arg(4).toboolean() || pat.indexOfAny(LuaValue.valueOf("^$*+?.([%-")) == -1);
    if (plain) {
      meter.charge(Math.max(1, s.length() - init)); // one linear scan
      int result = s.indexOf(pat, init);
      return result == -1 ? LuaValue.NIL
          : LuaValue.varargsOf(LuaValue.valueOf(result + 1), LuaValue.valueOf(result + pat.length()));
    }
    Counting ms = new Counting(args, s, pat, meter);
    boolean anchor = pat.length() > 0 && pat.luaByte(0) == '^';
    int poff = anchor ? 1 : 0;
    int soff = init;
    do {
      ms.reset();
      int res = ms.match(soff, poff);
      if (res != -1) {
        return find
            ? LuaValue.varargsOf(LuaValue.valueOf(soff + 1), LuaValue.valueOf(res), ms.push_captures(false, soff, res))
            : ms.push_captures(true, soff, res);
      }
    } while (soff++ < s.length() && !anchor);
    return LuaValue.NIL;
  }

  private static Varargs gsub(Varargs args, Meter meter) {
    LuaString src = args.checkstring(1);
    int srclen = src.length();
    LuaString p = args.checkstring(2);
    LuaValue repl = args.arg(3);
    int maxS = args.optint(4, srclen + 1);
    boolean anchor = p.length() > 0 && p.charAt(0) == '^';
    Buffer lbuf = new Buffer(srclen);
    Counting ms = new Counting(args, src, p, meter);
    int soffset = 0;
    int n = 0;
    while (n < maxS) {
      ms.reset();
      int res = ms.match(soffset, anchor ? 1 : 0);
      if (res != -1) {
        n++;
        ms.add_value(lbuf, soffset, res, repl);
      }
      if (res != -1 && res > soffset) {
        soffset = res;
      } else if (soffset < srclen) {
        lbuf.append((byte) src.luaByte(soffset++));
      } else {
        break;
      }
      if (anchor) {
        break;
      }
    }
    lbuf.append(src.substring(soffset, srclen));
    meter.checkLength(length(lbuf));
    return LuaValue.varargsOf(lbuf.tostring(), LuaValue.valueOf(n));
  }
}
