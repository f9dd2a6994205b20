package dev.keystone.proxy;

import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One log line per request, written when it ends ({@link Completion} calls it): tenant, method,
 * path, status, bytes, duration, backend and request id, as key=value pairs that both people and
 * log tools can read. {@code status=aborted}: the client left before the response was complete;
 * {@code truncated=true}: the gateway cut a response it had started.
 */
public final class AccessLog {

  static final Logger LOG = Logger.getLogger("keystone.access");

  private AccessLog() {
  }

  /**
   * A line for an answer the transport gave before any request existed (an HTTP/2 header block
   * beyond the limit): no tenant, method or path, as for a head that failed to decode.
   */
  static void refused(int status, long bytes, String requestId, java.net.SocketAddress client, String error) {
    if (LOG.isLoggable(java.util.logging.Level.INFO)) {
      String ip = client instanceof java.net.InetSocketAddress a && a.getAddress() != null ? a.getAddress().getHostAddress() : null;
      LOG.info("tenant=- method=- path=- status=" + status + " bytes=" + bytes + " duration_ms=0.0 backend=- request_id="
          + requestId + (ip == null ? "" : " client=" + ip) + " error=\"" + error + "\"");
    }
  }

  static void log(Exchange ex, Completion.Outcome outcome) {
    if (LOG.isLoggable(java.util.logging.Level.INFO)) {
      LOG.log(new Line(ex, outcome));
    }
  }

  /**
   * The facts of one request, taken when it ends; the text is made when a handler asks for it
   * ({@link #getMessage}, or {@link #appendMessageTo} straight into the writer's batch): by the
   * log writer's thread, not the event loop.
   */
  public static final class Line extends LogRecord {
    private final String tenant;
    private final String method;
    private final String path;
    private final boolean pathIsRaw;
    private final String status;
    private final int statusCode;
    private final long bytes;
    private final long nanos;
    private final String backend;
    private final String requestId;
    private final String client;
    private final String clientCert;
    private final boolean http2;
    private final boolean truncated;
    private final boolean fallback;
    private final int retries;
    private final String error;
    private final String shadow;
    private final String apiKey;
    private final String jwtSubject;
    private volatile String text;

    Line(Exchange ex, Completion.Outcome outcome) {
      super(Level.INFO, null);
      setLoggerName(LOG.getName());
      RequestHead req = ex.head();
      ResponseSink resp = ex.response();
      nanos = System.nanoTime() - ex.startNanos();
      tenant = ex.tenant() == null ? "-" : ex.tenant().name();
      method = req.method().name();
      pathIsRaw = ex.path() == null;
      path = pathIsRaw ? req.path() : ex.path();
      status = outcome == Completion.Outcome.ABORTED ? "aborted" : null;
      statusCode = resp.status();
      bytes = resp.bytesWritten();
      backend = ex.backend() == null ? "-" : ex.backend().name();
      requestId = ex.requestId() == null ? "-" : ex.requestId();
      client = req.clientAddress();
      clientCert = ex.clientSubject;
      http2 = req.http2();
      truncated = outcome == Completion.Outcome.TRUNCATED;
      fallback = ex.fallback;
      retries = ex.retries;
      error = ex.errorDetail;
      shadow = ex.shadowDecision;
      apiKey = ex.apiKeyName;
      jwtSubject = ex.jwtSubject;
    }

    @Override
    public String getMessage() {
      String t = text;
      if (t == null) {
        text = t = text();
      }
      return t;
    }

    private String text() {
      StringBuilder sb = new StringBuilder(160);
      appendMessageTo(sb);
      return sb.toString();
    }

    /** Appends the message (what {@link #getMessage()} returns) to {@code sb}, with no copy of its own. */
    public void appendMessageTo(StringBuilder sb) {
      String t = text;
      if (t != null) {
        sb.append(t);
        return;
      }
      long tenths = Math.round(nanos / 100_000.0); // the duration in tenths of a millisecond
      sb.append("tenant=").append(tenant)
          .append(" method=").append(method)
          .append(" path=").append(pathIsRaw ? RequestSyntax.printable(path) : path)
          .append(" status=");
      if (status != null) {
        sb.append(status);
      } else {
        sb.append(statusCode);
      }
      sb.append(" bytes=").append(bytes)
          .append(" duration_ms=").append(tenths / 10).append('.').append(tenths % 10)
          .append(" backend=").append(backend)
          .append(" request_id=").append(requestId);
      if (client != null) {
        sb.append(" client=").append(client);
      }
      if (http2) {
        sb.append(" proto=h2");
      }
      if (clientCert != null) {
        sb.append(" client_cert=\"").append(RequestSyntax.printable(clientCert).replace('"', '\'')).append('"');
      }
      if (apiKey != null) {
        sb.append(" api_key=").append(apiKey); // the key's name (letters, digits, . _ -), never the key
      }
      if (jwtSubject != null) {
        sb.append(" jwt_sub=\"").append(RequestSyntax.printable(jwtSubject).replace('"', '\'')).append('"');
      }
      if (truncated) {
        sb.append(" truncated=true");
      }
      if (fallback) {
        sb.append(" fallback=true");
      }
      if (retries > 0) {
        sb.append(" retries=").append(retries);
      }
      if (shadow != null) {
        sb.append(" shadow=").append(shadow);
      }
      if (error != null) {
        sb.append(" error=\"").append(RequestSyntax.printable(error).replace('"', '\'')).append('"');
      }
    }
  }
}
