package dev.keystone.catalog;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * What {@code keystone scripts update} shows before it installs: the changed lines of every file
 * of the entry, old version against new (a plain longest-common-subsequence diff: entries are
 * small; a file too large to compare line by line is reported as changed, with its sizes).
 */
public final class Diff {

  private static final long MAX_CELLS = 4_000_000;

  private Diff() {
  }

  public static List<String> of(SortedMap<String, byte[]> before, SortedMap<String, byte[]> after) {
    List<String> out = new ArrayList<>();
    TreeSet<String> names = new TreeSet<>(before.keySet());
    names.addAll(after.keySet());
    for (String f : names) {
      byte[] a = before.get(f);
      byte[] b = after.get(f);
      if (a != null && b != null && java.util.Arrays.equals(a, b)) {
        continue;
      }
      out.add("--- " + (a == null ? "/dev/null" : "a/" + f));
      out.add("+++ " + (b == null ? "/dev/null" : "b/" + f));
      lines(a == null ? new String[0] : text(a), b == null ? new String[0] : text(b), out);
    }
    return out;
  }

  private static String[] text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8).split("\n", -1);
  }

  private static void lines(String[] a, String[] b, List<String> out) {
    if ((long) a.length * b.length > MAX_CELLS) {
      // too large to compare line by line: every line of both, so that nothing added goes unseen
      out.add("@@ -1 +1 @@ (" + a.length + " lines before, " + b.length + " after: too large to compare line by line, all shown)");
      for (String line : a) {
        out.add("-" + visible(line));
      }
      for (String line : b) {
        out.add("+" + visible(line));
      }
      return;
    }
    int[][] lcs = new int[a.length + 1][b.length + 1];
    for (int i = a.length - 1; i >= 0; i--) {
      for (int j = b.length - 1; j >= 0; j--) {
        lcs[i][j] = a[i].equals(b[j]) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    int i = 0;
    int j = 0;
    boolean inChange = false;
    while (i < a.length || j < b.length) {
      if (i < a.length && j < b.length && a[i].equals(b[j])) {
        i++;
        j++;
        inChange = false;
        continue;
      }
      if (!inChange) {
        out.add("@@ -" + (i + 1) + " +" + (j + 1) + " @@"); // where the change starts: old line, new line
        inChange = true;
      }
      if (j < b.length && (i == a.length || lcs[i][j + 1] >= lcs[i + 1][j])) {
        out.add("+" + visible(b[j++]));
      } else {
        out.add("-" + visible(a[i++]));
      }
    }
  }

  /**
   * The line as a terminal must show it: control characters (a CR that moves back over the line,
   * an escape sequence that erases it) and bidirectional overrides as {@code \\xNN} / {@code \\uNNNN}.
   */
  public static String visible(String line) {
    StringBuilder sb = null;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      boolean hidden = (c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e)
          || (c >= 0x2066 && c <= 0x2069);
      if (hidden && sb == null) {
        sb = new StringBuilder(line.substring(0, i));
      }
      if (sb != null) {
        sb.append(hidden ? (c < 0x100 ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c)) : String.valueOf(c));
      }
    }
    return sb == null ? line : sb.toString();
  }
}
