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
  private static final Field PENDING = field("pending");
  private static final Field AUTO_READ = field("autoRead");

  private PendingReads() {
  }

  private static Field field(String name) {
    try {
      Field f = VertxConnection.class.getDeclaredField(name);
      f.setAccessible(true);
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.fine("cannot reach Vert.x's pending reads (" + e + "); buffers of paused connections may leak");
      return null;
    }
  }

  /**
   * Whether Vert.x itself wants {@code conn} to read (it turns reading off while it holds read
   * messages back): a gate that turned reading off turns it back on only then.
   */
  static boolean vertxReads(HttpConnection conn) {
    if (AUTO_READ == null || !(conn instanceof VertxConnection vc)) {
      return true;
    }
    try {
      return AUTO_READ.getBoolean(vc);
    } catch (IllegalAccessException e) {
      return true;
    }
  }

  /**
   * Stops {@code conn} from reading now. Pausing a Vert.x stream only stops delivery: the
   * connection goes on reading into memory for a while. A relay whose client is slow holds its
   * backend's connection to what it has already read.
   */
  static void holdReads(HttpConnection conn) {
    if (conn instanceof io.vertx.core.net.impl.ConnectionBase base) {
      base.channelHandlerContext().channel().config().setAutoRead(false);
    }
  }

  /** Lets {@code conn} read again, unless Vert.x itself holds it (it then lets it go when ready). */
  static void releaseReads(HttpConnection conn) {
    if (conn instanceof io.vertx.core.net.impl.ConnectionBase base && vertxReads(conn)) {
      base.channelHandlerContext().channel().config().setAutoRead(true);
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
