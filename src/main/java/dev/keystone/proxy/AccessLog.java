package dev.keystone.proxy;


import java.util.logging.Logger;

/**
 * One log line per request, written when it ends ({@link Completion} calls it): tenant, method,
 * path, status, bytes, duration, backend and request id, as key=value pairs that both people and
 * log tools can read. {@code status=aborted}: the client left before the response was complete;
 * {@code truncated=true}: the gateway cut a response it had started.
 */
final class AccessLog {

  static final Logger LOG = Logger.getLogger("keystone.access");

  private AccessLog() {
  }

  static void log(Exchange ex, Completion.Outcome outcome) {
    RequestHead req = ex.head();
    ResponseSink resp = ex.response();
    double ms = (System.nanoTime() - ex.startNanos()) / 1_000_000.0;
    StringBuilder sb = new StringBuilder(160)
        .append("tenant=").append(ex.tenant() == null ? "-" : ex.tenant().name())
        .append(" method=").append(req.method().name())
        .append(" path=").append(ex.path() == null ? RequestSyntax.printable(req.path()) : ex.path())
        .append(" status=").append(outcome == Completion.Outcome.ABORTED ? "aborted" : Integer.toString(resp.status()))
        .append(" bytes=").append(resp.bytesWritten())
        .append(" duration_ms=").append(Math.round(ms * 10) / 10.0)
        .append(" backend=").append(ex.backend() == null ? "-" : ex.backend().name())
        .append(" request_id=").append(ex.requestId() == null ? "-" : ex.requestId());
    if (req.clientAddress() != null) {
      sb.append(" client=").append(req.clientAddress());
    }
    if (outcome == Completion.Outcome.TRUNCATED) {
      sb.append(" truncated=true");
    }
    if (ex.fallback) {
      sb.append(" fallback=true");
    }
    if (ex.retries > 0) {
      sb.append(" retries=").append(ex.retries);
    }
    if (ex.errorDetail != null) {
      sb.append(" error=\"").append(RequestSyntax.printable(ex.errorDetail).replace('"', '\'')).append('"');
    }
    LOG.info(sb.toString());
  }
}
