package dev.keystone.proxy;

/** The ways a request can fail, each with the one status code it maps to. */
public enum ProxyError {
  BAD_REQUEST(400, "Bad Request"),
  NOT_FOUND(404, "Not Found"),
  BODY_TOO_LARGE(413, "Content Too Large"),
  URI_TOO_LONG(414, "URI Too Long"),
  HEADERS_TOO_LARGE(431, "Request Header Fields Too Large"),
  NOT_IMPLEMENTED(501, "Not Implemented"),
  SCRIPT_FAILED(500, "Internal Server Error"),
  UPSTREAM_FAILED(502, "Bad Gateway"),
  NO_BACKEND(503, "Service Unavailable"),
  UPSTREAM_TIMEOUT(504, "Gateway Timeout");

  public final int status;
  public final String reason;

  ProxyError(int status, String reason) {
    this.status = status;
    this.reason = reason;
  }
}
