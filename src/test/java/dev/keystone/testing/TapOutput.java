package dev.keystone.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads TAP output (node --test, the conformance suite) for assertion messages. CI shows only a
 * part of a long failure message, so the failed checks with their diagnostics come first and the
 * whole output after them: a flaky check is named even when the output is cut.
 */
public final class TapOutput {
  private static final int DIAGNOSTIC_LINES = 25;

  private TapOutput() {}

  /** The "not ok" lines, each with the diagnostic lines after it, then the whole output. */
  public static String failuresFirst(String tap) {
    List<String> lines = tap.lines().toList();
    List<String> failed = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (!lines.get(i).stripLeading().startsWith("not ok")) continue;
      int end = Math.min(lines.size(), i + 1 + DIAGNOSTIC_LINES);
      failed.addAll(lines.subList(i, end));
      failed.add("");
    }
    String head = failed.isEmpty() ? "no \"not ok\" line" : String.join("\n", failed);
    return "FAILED CHECKS:\n" + head + "\n=== WHOLE OUTPUT:\n" + tap;
  }
}
