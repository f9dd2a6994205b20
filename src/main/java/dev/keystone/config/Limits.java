package dev.keystone.config;

/**
 * Request limits enforced before anything reaches a backend.
 *
 * @param maxHeaderSize total size of request headers in bytes (default 16 KiB, answered 431)
 * @param maxUriLength  length of the request target in bytes (default 8 KiB, answered 414)
 * @param maxBodySize   request body in bytes, 0 for no limit (default 0: bodies stream, so size
 *                      costs no memory; answered 413)
 */
public record Limits(int maxHeaderSize, int maxUriLength, long maxBodySize) {

  public static final Limits DEFAULTS = new Limits(16 * 1024, 8 * 1024, 0);
}
