package dev.keystone.proxy;

import dev.keystone.script.ScriptEnvironment;
import dev.keystone.script.TenantAccount;

/**
 * Reads small request bodies whole before a backend connection is taken ({@code
 * limits.body_buffer}, 64 KiB by default), as nginx buffers request bodies. A streamed body holds
 * its backend connection for as long as the client takes to send it: a few clients trickling a
 * byte every few seconds (under {@code idle}) could hold every connection a backend is allowed
 * and make it answer 503 to everyone (attack R4-8). A buffered body holds only the client's own
 * connection, and goes to the backend at once, with a Content-Length; it can also be sent again
 * when the retry rule allows.
 *
 * <p>Only bodies with a Content-Length are buffered (the size is known before reading), and only
 * while the tenant's requests in flight hold less than half of what the tenant may hold (the rest
 * stays for its scripts' edits). Otherwise the body streams, as before: buffering is a hardening,
 * never a new way to fail.
 */
final class BodyBuffering implements Interceptor {

  private final ScriptEnvironment env;

  BodyBuffering(ScriptEnvironment env) {
    this.env = env;
  }

  @Override
  public void handle(Exchange ex) {
    long length = ex.body().declaredLength();
    long limit = ex.snapshot().plan().limits().bodyBuffer();
    if (length <= 0 || length > limit || ex.bufferedBody != null
        || ex.body().state() != BodySource.State.UNREAD || WebSocketSplice.isHandshake(ex)) {
      ex.next();
      return;
    }
    TenantAccount account = env.held(ex.tenant().name());
    long cost = 2 * length; // the bytes read, and the copy that is sent
    if (account.held() + cost > account.cap() / 2 || ex.tryHold(account, cost) != null) {
      ex.next();
      return;
    }
    RequestBodies.read(ex, length, ex::next);
  }
}
