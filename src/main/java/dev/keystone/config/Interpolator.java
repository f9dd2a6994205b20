package dev.keystone.config;

import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces {@code ${NAME}} and {@code ${NAME:-default}} (default used when unset or empty) in config values with environment
 * variables, so secrets stay out of the file. {@code $${} writes a literal {@code ${}.
 */
final class Interpolator {

  private static final Pattern VAR = Pattern.compile("\\$\\$\\{|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

  private final Function<String, String> lookup;

  Interpolator(Function<String, String> lookup) {
    this.lookup = lookup;
  }

  /** Returns the interpolated text; throws IllegalArgumentException naming an unset variable. */
  String apply(String text) {
    if (text.indexOf('$') < 0) {
      return text;
    }
    Matcher m = VAR.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement;
      if (m.group().equals("$${")) {
        replacement = "${";
      } else {
        String value = lookup.apply(m.group(1));
        if ((value == null || value.isEmpty()) && m.group(2) != null) {
          value = m.group(2); // as in a shell, ":-" also replaces an empty value
        }
        if (value == null) {
          throw new IllegalArgumentException("environment variable " + m.group(1)
              + " is not set (write ${" + m.group(1) + ":-default} to give a default)");
        }
        replacement = value;
      }
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }
}
