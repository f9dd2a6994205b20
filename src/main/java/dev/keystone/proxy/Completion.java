package dev.keystone.proxy;

import dev.keystone.metrics.Metrics;
import io.vertx.core.http.HttpServerResponse;

import java.util.logging.Level;

/**
 * Notices the end of each request (response sent, or client gone) exactly once, and reports it
 * to the access log and the metrics. Everything the metrics need was noted on the
 * {@link Exchange} by the steps that knew it (tenant, backend, upstream time, retries, script
 * outcome), so the counters are all updated here, in one place.
 */
final class Completion implements Interceptor {

  private final Metrics metrics;

  Completion(Metrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void handle(Exchange ex) {
    ex.metrics = metrics;
    metrics.started();
    HttpServerResponse response = ex.request().response();
    response.endHandler(v -> done(ex, false));
    ex.onClientClose(() -> done(ex, true));
    ex.next();
  }

  /** The request is over ({@code aborted}: the client left first). Later calls do nothing. */
  static void done(Exchange ex, boolean aborted) {
    if (ex.completed) {
      return;
    }
    ex.completed = true;
    if (AccessLog.LOG.isLoggable(Level.INFO)) {
      AccessLog.log(ex, aborted);
    }
    Metrics m = ex.metrics;
    if (m != null) {
      m.record(ex.tenant() == null ? "" : ex.tenant().name(),
          ex.backend() == null ? "" : ex.backend().name(),
          ex.request().method().name(),
          aborted ? 0 : ex.request().response().getStatusCode(),
          System.nanoTime() - ex.startNanos(),
          ex.upstreamNanos, ex.retries, ex.scriptOutcome, ex.scriptNanos);
    }
  }
}
