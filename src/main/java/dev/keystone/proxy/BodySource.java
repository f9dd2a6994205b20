package dev.keystone.proxy;

import io.netty.buffer.ByteBuf;

import java.util.function.Consumer;

/**
 * A request body as the transport delivers it, with an explicit state. Part of the transport seam
 * ({@link ClientSide}). Chunks are lent to the reader for the duration of the call (the transport
 * releases them afterwards): a reader that keeps bytes copies them.
 */
public interface BodySource {

  enum State {
    /** The request declares no body. */
    NONE,
    /** Declared and not read yet: it waits, paused, on the connection. */
    UNREAD,
    /** Being read by someone (forwarded, buffered for a script, dropped). */
    STREAMING,
    /** Read to its end. */
    CONSUMED,
    /** Broken off or malformed (a bad chunk, the client left). */
    FAILED
  }

  State state();

  /** The declared length, or -1 when chunked or none. */
  long declaredLength();

  /**
   * Starts reading: each chunk, then {@code end} once, or {@code error} once. Reading flows until
   * {@link #pause()}.
   */
  void read(Consumer<ByteBuf> chunk, Runnable end, Consumer<Throwable> error);

  /** Reads the rest and throws it away (the connection may then carry the next request). */
  void drop();

  void pause();

  void resume();

  /** Who hears of a body that fails while nobody reads it (a bad chunk while connecting). */
  void onUnreadFailure(Consumer<Throwable> handler);
}
