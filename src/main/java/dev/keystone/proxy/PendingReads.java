package dev.keystone.proxy;

import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.VertxConnection;

import java.lang.reflect.Field;
import java.util.Deque;
import java.util.logging.Logger;

/**
 * Releases the messages a Vert.x connection had read but was holding back (its reads were paused,
 * as a proxy pauses a client whose backend is not ready) when the connection closes. Vert.x
 * 5.0.7 drops that queue without releasing it, which leaks the buffers of every paused request or
 * response whose connection dies (found by the leak detector in the tests). Called from the
 * connections' close handlers; a no-op if Vert.x changes shape.
 */
final class PendingReads {

  private static final Logger LOG = Logger.getLogger("keystone.proxy");
  private static final Field PENDING = pendingField();

  private PendingReads() {
  }

  private static Field pendingField() {
    try {
      Field f = VertxConnection.class.getDeclaredField("pending");
      f.setAccessible(true);
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.fine("cannot reach Vert.x's pending reads (" + e + "); buffers of paused connections may leak");
      return null;
    }
  }

  /** Releases what {@code conn} read and never delivered; call once it is closed. */
  static void release(HttpConnection conn) {
    if (PENDING == null || !(conn instanceof VertxConnection vc)) {
      return;
    }
    try {
      Deque<?> pending = (Deque<?>) PENDING.get(vc);
      if (pending != null) {
        Object msg;
        while ((msg = pending.poll()) != null) {
          ReferenceCountUtil.release(msg);
        }
      }
    } catch (IllegalAccessException e) {
      // cannot happen after setAccessible
    }
  }
}
