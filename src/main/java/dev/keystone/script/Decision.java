package dev.keystone.script;


import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a script decided for one request: where it goes (or the answer given instead) and the
 * edits to apply to it whatever the decision.
 */
public final class Decision {

  /** The outcome. */
  public enum Kind {
    /** Route as if there were no script (round-robin over the tenant's backends). */
    CONTINUE,
    /** Route among {@link #candidates()} only. */
    ROUTE,
    /** Answer with {@link #status()}, {@link #body()} and {@link #responseHeaders()}. */
    RESPOND,
    /** Refuse with {@link #status()} and {@link #reason()}. */
    REJECT
  }

  /**
   * A decision made elsewhere (a remote script engine), for the gateway to apply like its own.
   * Maps may be null; a null value in {@code headerEdits} removes that header.
   */
  public static Decision of(Kind kind, List<BackendView> candidates, String target, int status, String body, String reason,
                            Map<String, String> responseHeaders, Map<String, String> headerEdits, String path, String query) {
    Decision d = new Decision();
    d.kind = kind;
    d.candidates = candidates == null ? null : List.copyOf(candidates);
    d.target = target;
    d.status = status;
    d.body = body;
    d.reason = reason;
    try {
      if (responseHeaders != null) {
        responseHeaders.forEach(d::responseHeader);
      }
      if (headerEdits != null) {
        headerEdits.forEach(d::editHeader);
      }
    } catch (org.luaj.vm2.LuaError e) {
      throw new IllegalArgumentException(e.getMessage()); // an engine's answer is refused like a script's call
    }
    d.path = path;
    d.query = query;
    return d;
  }

  Kind kind = Kind.CONTINUE;
  List<BackendView> candidates;
  String target;
  int status;
  String body;
  String reason;
  // Made on first use: most decisions edit nothing.
  private Map<String, String> responseHeaders;
  /** Header name to new value; a null value removes the header. */
  private Map<String, String> headerEdits;
  String path;
  String query;

  public Kind kind() {
    return kind;
  }

  /** The backends to choose among (ROUTE), in the tenant's order. */
  public List<BackendView> candidates() {
    return candidates;
  }

  /** How the script named its target ("canary-42" or "{version=canary}"), for errors and logs. */
  public String target() {
    return target;
  }

  public int status() {
    return status;
  }

  public String body() {
    return body;
  }

  public String reason() {
    return reason;
  }

  public Map<String, String> responseHeaders() {
    return responseHeaders == null ? Map.of() : responseHeaders;
  }

  public Map<String, String> headerEdits() {
    return headerEdits == null ? Map.of() : headerEdits;
  }

  void responseHeader(String name, String value) {
    if (responseHeaders == null) {
      responseHeaders = new LinkedHashMap<>();
    }
    tally(name, value);
    responseHeaders.put(name, value);
  }

  /** Sets ({@code value} non-null) or removes a request header on the way to the backend. */
  void editHeader(String name, String value) {
    if (headerEdits == null) {
      headerEdits = new LinkedHashMap<>();
    }
    tally(name, value);
    headerEdits.put(name, value);
  }

  private int headerCount;
  private long headerBytes;

  /** Counts an edit against what one decision may add (a script could repeat one big value). */
  private void tally(String name, String value) {
    headerCount++;
    headerBytes += name.length() + (value == null ? 0 : value.length());
    String problem = EditRules.totalProblem(headerCount, headerBytes);
    if (problem != null) {
      throw new org.luaj.vm2.LuaError(problem);
    }
  }

  private boolean responsePhase;

  /** Whether the script also wants the response ({@code on_response}): a remote engine says so. */
  public boolean responsePhase() {
    return responsePhase;
  }

  /** Marks that the engine's script has {@code on_response}, so the gateway calls it again. */
  public Decision withResponsePhase(boolean wanted) {
    responsePhase = wanted;
    return this;
  }

  /** The new forwarded path, or null to keep it. */
  public String path() {
    return path;
  }

  /** The new query string (without '?'; empty for none), or null to keep it. */
  public String query() {
    return query;
  }
}
