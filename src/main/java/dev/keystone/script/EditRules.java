package dev.keystone.script;

import java.util.Locale;
import java.util.Set;

/**
 * What a script may put into a request or a response: header names and values, a path, a query.
 * One set of rules for the embedded API ({@link HeaderArgs}) and for a remote engine's answers
 * (checked again by the gateway, since an engine is not trusted): nothing may break the message's
 * framing or smuggle a second header or request. Each check returns null when the value is fine,
 * else what is wrong with it.
 */
public final class EditRules {

  /** Headers a script may not set: they frame the message or describe one connection. */
  private static final Set<String> FRAMING = Set.of("content-length", "transfer-encoding",
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect");

  private EditRules() {
  }

  public static String nameProblem(String n) {
    if (n == null || n.isEmpty() || !n.chars().allMatch(c -> c > 32 && c < 127 && c != ':')) {
      return "not a header name: '" + n + "'";
    }
    if (FRAMING.contains(n.toLowerCase(Locale.ROOT))) {
      return "header " + n + " is managed by the gateway (message framing or connection handling)";
    }
    return null;
  }

  public static String valueProblem(String v) {
    if (v == null) {
      return "a header value must be a string";
    }
    if (v.indexOf('\r') >= 0 || v.indexOf('\n') >= 0 || v.indexOf('\0') >= 0) {
      return "a header value must not contain CR, LF or NUL";
    }
    return null;
  }

  /** A path to forward: starts with '/', no spaces or control characters, no '?' or '#'. */
  public static String pathProblem(String p) {
    if (p == null || !p.startsWith("/")) {
      return "the path must start with '/', got '" + p + "'";
    }
    if (!p.chars().allMatch(c -> c > 32 && c != 127 && c != '?' && c != '#')) {
      return "the path must not contain spaces, control characters, '?' or '#' (set_query sets the query)";
    }
    return null;
  }

  /** A query to forward (without '?'): no spaces, control characters or '#'. */
  public static String queryProblem(String q) {
    if (q == null || !q.chars().allMatch(c -> c > 32 && c != 127 && c != '#')) {
      return "the query must not contain spaces, control characters or '#', got '" + q + "'";
    }
    return null;
  }
}
