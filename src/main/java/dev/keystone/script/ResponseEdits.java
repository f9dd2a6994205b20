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

  public int status() {
    return status;
  }

  public Map<String, String> headerEdits() {
    return headerEdits;
  }
}
