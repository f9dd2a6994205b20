package dev.keystone.runtime;

import io.netty.channel.SelectStrategy;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.util.IntSupplier;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.impl.transports.EpollTransport;
import io.vertx.core.impl.transports.TransportInternal;

/**
 * Makes the Vert.x instances of the gateway and the engine: native epoll where available and,
 * optionally, event loops that poll for a short while after activity before they block.
 *
 * <p>Why: a remote script call costs two thread wake-ups that an embedded one does not (the
 * engine's loop wakes for the request, the gateway's for the answer). On a busy shared VM a
 * wake-up from epoll_wait takes up to a millisecond at p99, which is most of a remote call's
 * tail. A loop that keeps polling (epoll_wait with a zero timeout) for {@code spinMicros} after
 * its last event is already running when the answer arrives. It costs CPU while it spins, so it
 * is off unless {@code keystone.spin-us} (microseconds) is set.
 */
public final class EventLoops {

  private EventLoops() {
  }

  /** The spin window from {@code -Dkeystone.spin-us}, 0 (off) by default. */
  public static long spinMicros() {
    return Long.getLong("keystone.spin-us", 0);
  }

  /** A Vert.x with {@code loops} event loops, native transport preferred. */
  public static Vertx vertx(int loops) {
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(loops).setPreferNativeTransport(true);
    long spin = spinMicros();
    if (spin <= 0 || !Epoll.isAvailable()) {
      return Vertx.vertx(options);
    }
    long spinNanos = spin * 1000;
    EpollTransport spinning = new EpollTransport() {
      @Override
      public IoHandlerFactory ioHandlerFactory() {
        return EpollIoHandler.newFactory(0, () -> new SpinThenSelect(spinNanos));
      }
    };
    return Vertx.builder().with(options).withTransport(new TransportInternal("epoll", true, null, spinning)).build();
  }

  /**
   * Polls without blocking while the last event is less than {@code spinNanos} old, then blocks
   * as usual. One instance per event loop (Netty asks the factory once per loop), so its fields
   * are confined to that loop's thread.
   */
  static final class SpinThenSelect implements SelectStrategy {

    private final long spinNanos;
    private long lastActive;
    private boolean blocked;

    SpinThenSelect(long spinNanos) {
      this.spinNanos = spinNanos;
    }

    @Override
    public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
      long now = System.nanoTime();
      if (blocked) {
        blocked = false;
        lastActive = now; // woken from a blocking wait: something happened
      }
      if (hasTasks) {
        lastActive = now;
        return selectNow.get();
      }
      if (now - lastActive < spinNanos) {
        int ready = selectNow.get();
        if (ready > 0) {
          lastActive = now;
        }
        return ready; // 0: nothing yet, Netty comes straight back here
      }
      blocked = true;
      return SelectStrategy.SELECT;
    }
  }
}
