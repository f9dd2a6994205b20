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
    return checkName(args.checkjstring(offset(args) + i));
  }

  /** {@code n} if a script may edit a header of that name; a script error otherwise. */
  static String checkName(String n) {
    return check(n, EditRules.nameProblem(n));
  }

  /** Argument {@code i} as a header value: no line break may smuggle in a second header or request. */
  static String value(Varargs args, int i) {
    String v = args.checkjstring(offset(args) + i);
    return check(v, EditRules.valueProblem(v));
  }

  static String check(String value, String problem) {
    if (problem != null) {
      throw new LuaError(problem);
    }
    return value;
  }
}
