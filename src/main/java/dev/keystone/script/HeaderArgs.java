package dev.keystone.script;

import org.luaj.vm2.LuaError;
import org.luaj.vm2.Varargs;


/** The checks on header names and values that scripts pass to set_header and remove_header. */
final class HeaderArgs {

  private HeaderArgs() {
  }

  /** Lets {@code req.set_header(n, v)} and {@code req:set_header(n, v)} both work. */
  static int offset(Varargs args) {
    return args.istable(1) ? 1 : 0;
  }

  /** Argument {@code i} as a header name a script may edit. */
  static String name(Varargs args, int i) {
    return checkName(text(args.arg(offset(args) + i), true));
  }

  /**
   * A name or value given by a script, as Java text, its length checked first: a 1 MiB Lua
   * string becomes a Java string only if it is short enough to be a header.
   */
  static String text(org.luaj.vm2.LuaValue v, boolean name) {
    org.luaj.vm2.LuaString s = v.checkstring();
    String problem = EditRules.lengthProblem(s.length(), name);
    if (problem != null) {
      throw new LuaError(problem);
    }
    return s.tojstring();
  }

  /** {@code n} if a script may edit a header of that name; a script error otherwise. */
  static String checkName(String n) {
    return check(n, EditRules.nameProblem(n));
  }

  /** Argument {@code i} as a header value: no line break may smuggle in a second header or request. */
  static String value(Varargs args, int i) {
    String v = text(args.arg(offset(args) + i), false);
    return check(v, EditRules.valueProblem(v));
  }

  static String check(String value, String problem) {
    if (problem != null) {
      throw new LuaError(problem);
    }
    return value;
  }
}
