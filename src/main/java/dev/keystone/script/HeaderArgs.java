package dev.keystone.script;

import org.luaj.vm2.LuaError;
import org.luaj.vm2.Varargs;

import java.util.Locale;
import java.util.Set;

/** The checks on header names and values that scripts pass to set_header and remove_header. */
final class HeaderArgs {

  /** Headers a script may not edit: they frame the message or describe one connection. */
  private static final Set<String> FRAMING = Set.of("content-length", "transfer-encoding",
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect");

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
    if (n.isEmpty() || !n.chars().allMatch(c -> c > 32 && c < 127 && c != ':')) {
      throw new LuaError("not a header name: '" + n + "'");
    }
    if (FRAMING.contains(n.toLowerCase(Locale.ROOT))) {
      throw new LuaError("header " + n + " is managed by the gateway (message framing or connection handling)");
    }
    return n;
  }

  /** Argument {@code i} as a header value: no line break may smuggle in a second header or request. */
  static String value(Varargs args, int i) {
    String v = args.checkjstring(offset(args) + i);
    if (v.indexOf('\r') >= 0 || v.indexOf('\n') >= 0 || v.indexOf('\0') >= 0) {
      throw new LuaError("a header value must not contain CR, LF or NUL");
    }
    return v;
  }
}
