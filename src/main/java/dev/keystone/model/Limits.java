package dev.keystone.model;

/**
 * Request limits enforced before anything reaches a backend, and the connection budget toward
 * each backend.
 *
 * @param maxHeaderSize       total size of request headers in bytes (default 16 KiB, answered 431)
 * @param maxUriLength        length of the request target in bytes (default 8 KiB, answered 414)
 * @param maxBodySize         request body in bytes, 0 for no limit (default 0: bodies stream, so
 *                            size costs no memory; answered 413)
 * @param upstreamConnections the most connections to one backend from one event loop (default
 *                            512, as nginx's {@code max_conns} is per worker); more requests wait
 *                            up to {@code timeouts.pool_wait}
 * @param bodyBuffer          request bodies with a Content-Length up to this are read whole before
 *                            a backend connection is taken (default 64 KiB, 0 turns it off), so a
 *                            client that trickles its upload holds no backend connection
 */
public record Limits(int maxHeaderSize, int maxUriLength, long maxBodySize, int upstreamConnections, int bodyBuffer) {

  public static final Limits DEFAULTS = new Limits(16 * 1024, 8 * 1024, 0, 512, 64 * 1024);

  /** The most {@code body_buffer} may be: bodies this size are held in memory. */
  public static final int MAX_BODY_BUFFER = 1024 * 1024;
}
