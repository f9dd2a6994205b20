package dev.keystone.proxy;

/** The ways a request can fail, each with the one status code it maps to. */
public enum ProxyError {
  BAD_REQUEST(400, "Bad Request"),
  /** No API key, or one the gateway does not know (or that has expired). */
  UNAUTHORIZED(401, "Unauthorized"),
  /** A tenant that requires a client certificate, asked without one (mutual TLS). */
  FORBIDDEN(403, "Forbidden"),
  NOT_FOUND(404, "Not Found"),
  REQUEST_TIMEOUT(408, "Request Timeout"),
  BODY_TOO_LARGE(413, "Content Too Large"),
  URI_TOO_LONG(414, "URI Too Long"),
  /** A TLS connection made for one tenant's name, used for another tenant that checks client certificates. */
  MISDIRECTED(421, "Misdirected Request"),
  /** An Expect other than 100-continue (RFC 9110 section 10.1.1). */
  EXPECTATION_FAILED(417, "Expectation Failed"),
  /** A tenant's rate limit refused the request (Retry-After says when to try again). */
  TOO_MANY_REQUESTS(429, "Too Many Requests"),
  HEADERS_TOO_LARGE(431, "Request Header Fields Too Large"),
  /** A bug in the gateway (or a plug-in): an exception nothing else handled, or a stuck request. */
  INTERNAL(500, "Internal Server Error"),
  NOT_IMPLEMENTED(501, "Not Implemented"),
  SCRIPT_FAILED(500, "Internal Server Error"),
  UPSTREAM_FAILED(502, "Bad Gateway"),
  NO_BACKEND(503, "Service Unavailable"),
  /** Every connection to the backend stayed busy for {@code timeouts.pool_wait}. */
  BACKEND_BUSY(503, "Service Unavailable"),
  /** The tenant's requests in flight hold all the memory it (or the process) may give them. */
  TENANT_OVERLOADED(503, "Service Unavailable"),
  /**
   * The gateway ran out of network buffers on a backend's connection (clients that do not read
   * hold them): its own overload, not the backend's failure (that was a 502).
   */
  NO_BUFFERS(503, "Service Unavailable"),
  /** A cluster rate limit that fails closed could not reach the state store. */
  RATE_LIMIT_UNAVAILABLE(503, "Service Unavailable"),
  UPSTREAM_TIMEOUT(504, "Gateway Timeout"),
  VERSION_NOT_SUPPORTED(505, "HTTP Version Not Supported");

  public final int status;
  public final String reason;

  ProxyError(int status, String reason) {
    this.status = status;
    this.reason = reason;
  }
}
