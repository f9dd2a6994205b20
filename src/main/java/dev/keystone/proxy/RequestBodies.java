package dev.keystone.proxy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

/**
 * Reads a whole request body into memory, up to a cap, for a tenant whose script looks at bodies
 * ({@code script_body}). Larger bodies are refused with 413 before any byte reaches a backend or
 * an engine: a script that checks bodies must not be bypassed by a big one. The Forwarder then
 * sends the buffered body with a Content-Length.
 */
final class RequestBodies {

  private RequestBodies() {
  }

  static void read(Exchange ex, long cap, Runnable then) {
    HttpServerRequest req = ex.request();
    String cl = req.getHeader("Content-Length");
    if (cl != null && Long.parseLong(cl) > cap) { // RequestGuard made sure it is one valid number
      ex.fail(ProxyError.BODY_TOO_LARGE, "body above the script_body limit of " + cap + " bytes");
      return;
    }
    if (req.headers().contains("Expect")) {
      req.response().writeContinue(); // the client waits for this before it sends the body
    }
    Buffer body = Buffer.buffer(cl != null ? (int) Long.parseLong(cl) : 1024);
    boolean[] failed = {false};
    ex.phase(Exchange.Phase.BODY_FOR_SCRIPT);
    req.handler(ex.guard(chunk -> {
      if (failed[0]) {
        return;
      }
      if (body.length() + chunk.length() > cap) {
        failed[0] = true;
        ex.fail(ProxyError.BODY_TOO_LARGE, "body above the script_body limit of " + cap + " bytes");
        return;
      }
      body.appendBuffer(chunk);
      ex.progress();
    }));
    req.exceptionHandler(ex.guard(t -> {
      if (!failed[0]) {
        failed[0] = true;
        ex.fail(ProxyError.BAD_REQUEST, "request body: " + t.getMessage());
      }
    }));
    req.endHandler(ex.guard(v -> {
      if (!failed[0]) {
        req.handler(null);
        req.endHandler(null);
        ex.bufferedBody = body;
        ex.phase(Exchange.Phase.STARTED);
        then.run();
      }
    }));
    req.resume();
  }
}
