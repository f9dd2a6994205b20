package dev.keystone.script;

import java.util.LinkedHashMap;
import java.util.Map;

/** What {@code on_response} changed: the status and header edits (a null value removes). */
public final class ResponseEdits {

  int status;
  final Map<String, String> headerEdits = new LinkedHashMap<>();

  ResponseEdits(int status) {
    this.status = status;
  }

  /**
   * Edits that came from elsewhere (a remote engine), checked by the same rules as a script's:
   * a status change only between statuses that carry a body, header names and values that
   * cannot break the message. Throws IllegalArgumentException naming what is wrong.
   */
  public static ResponseEdits checked(int original, int status, Map<String, String> headers) {
    if (status != original && (!carriesBody(original) || !carriesBody(status))) {
      throw new IllegalArgumentException("status: cannot change " + original + " to " + status);
    }
    ResponseEdits e = new ResponseEdits(status);
    headers.forEach((name, value) -> {
      String problem = EditRules.nameProblem(name);
      if (problem == null && value != null) {
        problem = EditRules.valueProblem(value);
      }
      if (problem != null) {
        throw new IllegalArgumentException("headers: " + problem);
      }
      e.put(name, value);
    });
    return e;
  }

  private int count;
  private long bytes;

  /** Adds an edit, within what one response's edits may add. */
  void put(String name, String value) {
    count++;
    bytes += name.length() + (value == null ? 0 : value.length());
    String problem = EditRules.totalProblem(count, bytes);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    headerEdits.put(name, value);
  }

  /** Statuses whose responses carry a body: one can stand in for another without breaking framing. */
  static boolean carriesBody(int status) {
    return status >= 200 && status <= 599 && status != 204 && status != 304;
  }

  public int status() {
    return status;
  }

  public Map<String, String> headerEdits() {
    return headerEdits;
  }
}
