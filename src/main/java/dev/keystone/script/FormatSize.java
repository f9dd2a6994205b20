package dev.keystone.script;

import org.luaj.vm2.LuaString;
import org.luaj.vm2.Varargs;

/**
 * An upper bound of what {@code string.format} will produce, read from the format before it
 * runs: {@code %q} can write four bytes for one ({@code \0} becomes {@code \000}), a number with
 * width and precision up to 99 each can take a few hundred, {@code %s} is its string. LuaJ
 * checks nothing, so without this {@code ("%q"):format(s)} is three times the string limit.
 */
final class FormatSize {

  /** Longest number conversion: 309 digits of 1e308, a sign, a point, 99 decimals, padding. */
  private static final long NUMBER = 512;

  private FormatSize() {
  }

  static long atMost(LuaString fmt, Varargs args) {
    long total = 0;
    int arg = 2;
    int n = fmt.length();
    for (int i = 0; i < n; i++) {
      if (fmt.luaByte(i) != '%') {
        total++;
        continue;
      }
      if (++i < n && fmt.luaByte(i) == '%') {
        total++;
        continue;
      }
      while (i < n && "-+ #0123456789.".indexOf(fmt.luaByte(i)) >= 0) { // flags, width, precision
        i++;
      }
      int conversion = i < n ? fmt.luaByte(i) : 0;
      total += switch (conversion) {
        case 's' -> 99 + (args.arg(arg).isstring() ? args.arg(arg).checkstring().length() : 0);
        case 'q' -> 2 + 4L * (args.arg(arg).isstring() ? args.arg(arg).checkstring().length() : 0);
        default -> NUMBER; // c, d, i, o, u, x, X, e, E, f, g, G (anything else is LuaJ's error)
      };
      arg++;
    }
    return total;
  }
}
