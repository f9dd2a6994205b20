package dev.keystone.catalog;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The regular expressions of an entry's schema ({@code pattern}, {@code patternProperties}) run
 * on the tenant's params before the validator runs them, with every character read counted: Java's
 * regular expressions backtrack, and a publisher's {@code ^(.*[a-z]){12}$} on an 80-character
 * value would hold a config load (and every reload) for hours. Each pattern is tried on every
 * string and key of the params: the validator tries a subset of those pairs, so what passed here
 * bounds its work too. Past the budget the schema is refused, naming the pattern.
 */
final class SchemaPatterns {

  /** Characters the regex engine may read for one config's params (about 50 ms of matching here). */
  static final long BUDGET = 20_000_000;

  private SchemaPatterns() {
  }

  /** Why the schema's patterns cannot be used on {@code params}, or null when they can. */
  static String tooSlow(JsonObject schema, JsonObject params) {
    Set<String> patterns = new LinkedHashSet<>();
    collect(schema, patterns, 0);
    if (patterns.isEmpty()) {
      return null;
    }
    List<String> texts = new ArrayList<>();
    strings(params, texts, 0);
    long[] left = {BUDGET};
    for (String pattern : patterns) {
      Pattern compiled;
      try {
        compiled = Pattern.compile(pattern);
      } catch (PatternSyntaxException e) {
        return "the pattern \"" + pattern + "\" is not a regular expression: " + e.getDescription();
      } catch (StackOverflowError e) {
        return "the pattern \"" + pattern + "\" nests too deep";
      }
      for (String text : texts) {
        try {
          compiled.matcher(new Counted(text, left)).find();
        } catch (Exhausted | StackOverflowError e) {
          return "the pattern \"" + pattern + "\" takes too long to check these params (a regular expression that backtracks)";
        }
      }
    }
    return null;
  }

  private static void collect(Object node, Set<String> out, int depth) {
    if (depth > 200) {
      return; // deeper than any schema the validator itself can walk
    }
    if (node instanceof JsonObject o) {
      for (String k : o.fieldNames()) {
        Object v = o.getValue(k);
        if (k.equals("pattern") && v instanceof String s) {
          out.add(s);
        } else if (k.equals("patternProperties") && v instanceof JsonObject pp) {
          out.addAll(pp.fieldNames());
        }
        collect(v, out, depth + 1);
      }
    } else if (node instanceof JsonArray a) {
      for (Object v : a) {
        collect(v, out, depth + 1);
      }
    }
  }

  private static void strings(Object node, List<String> out, int depth) {
    if (node instanceof String s) {
      out.add(s);
    } else if (node instanceof JsonObject o) {
      for (String k : o.fieldNames()) {
        out.add(k); // patternProperties and propertyNames match keys
        strings(o.getValue(k), out, depth + 1);
      }
    } else if (node instanceof JsonArray a) {
      for (Object v : a) {
        strings(v, out, depth + 1);
      }
    }
  }

  private static final class Exhausted extends RuntimeException {
    Exhausted() {
      super(null, null, false, false);
    }
  }

  /** A string whose reads count down a shared budget: java.util.regex reads its input only through charAt. */
  private record Counted(String text, long[] left) implements CharSequence {
    @Override
    public int length() {
      return text.length();
    }

    @Override
    public char charAt(int index) {
      if (--left[0] < 0) {
        throw new Exhausted();
      }
      return text.charAt(index);
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      return new Counted(text.substring(start, end), left);
    }

    @Override
    public String toString() {
      return text;
    }
  }
}
