package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;

import java.io.ByteArrayOutputStream;

/**
 * Reads a whole request body into memory, up to a cap: for a tenant whose script looks at bodies
 * ({@code script_body}), and small bodies before a backend connection is taken
 * ({@link BodyBuffering}). Larger bodies are refused with 413 before any byte reaches a backend or
 * an engine: a script that checks bodies must not be bypassed by a big one. The forwarding then
 * sends the buffered body with a Content-Length.
 */
final class RequestBodies {

  private RequestBodies() {
  }

  static void read(Exchange ex, long cap, Runnable then) {
    long declared = ex.body().declaredLength();
    if (declared > cap) {
      ex.fail(ProxyError.BODY_TOO_LARGE, "body above the script_body limit of " + cap + " bytes");
      return;
    }
    if (ex.head().headers().contains("Expect") && ex.head().version() != io.netty.handler.codec.http.HttpVersion.HTTP_1_0) {
      ex.response().writeContinue(); // the client waits for this before it sends the body
    }
    // Sized for what was declared, grown for chunked bodies: never beyond the cap (checked first).
    ByteArrayOutputStream body = new ByteArrayOutputStream(declared > 0 ? (int) declared : 1024);
    boolean[] failed = {false};
    ex.phase(Exchange.Phase.BUFFERING_BODY);
    ex.body().read(ex.<ByteBuf>guard(chunk -> {
      if (failed[0]) {
        return;
      }
      if ((long) body.size() + chunk.readableBytes() > cap) {
        failed[0] = true;
        ex.fail(ProxyError.BODY_TOO_LARGE, "body above the script_body limit of " + cap + " bytes");
        return;
      }
      try {
        chunk.getBytes(chunk.readerIndex(), body, chunk.readableBytes());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not fail
      }
      ex.progress();
    })::handle, ex.guarded(() -> {
      if (!failed[0]) {
        ex.bufferedBody = body.toByteArray();
        ex.phase(Exchange.Phase.STARTED);
        then.run();
      }
    }), ex.<Throwable>guard(t -> {
      if (!failed[0]) {
        failed[0] = true;
        if (!Failures.clientGone(t)) { // a client that left is recorded aborted by the close (R6-2)
          ex.fail(ProxyError.BAD_REQUEST, "request body: " + t.getMessage());
        }
      }
    })::handle);
  }
}
