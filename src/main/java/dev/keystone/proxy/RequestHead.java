package dev.keystone.proxy;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

/**
 * A request's head as the transport decoded it: method, target as sent, version and headers
 * (Netty's, edited in place by the steps that forward it). Part of the transport seam
 * ({@link ClientSide}): interceptors read requests only through it.
 */
public interface RequestHead {

  HttpMethod method();

  /** The request target exactly as sent (origin form, or absolute form for proxies). */
  String uri();

  /** The target's path as sent, before the '?' (not decoded, not normalised). */
  String path();

  /** The target's query as sent, or null when there is none. */
  String query();

  HttpVersion version();

  HttpHeaders headers();

  /** The client's IP address, or null when the transport does not know it. */
  String clientAddress();

  /** Whether the client connected over TLS. */
  boolean secure();

  /** Why the head could not be decoded (a line too long, a bad header), or null when it was. */
  Throwable decodeFailure();

  /** Whether the request came as an HTTP/2 stream (its {@link #version} is HTTP/1.1's semantics). */
  default boolean http2() {
    return false;
  }

  /** The server name the client's TLS handshake asked for (SNI, lower case), or null. */
  default String tlsServerName() {
    return null;
  }

  /**
   * What the connection's TLS handshake proved of the client: the client CA and mode of the
   * context it used ({@code config.ClientAuth#key}, "" for none), or null when not over TLS.
   */
  default String tlsClientAuth() {
    return null;
  }

  /** The client's certificate, verified in the TLS handshake against its tenant's client_ca, or null. */
  default java.security.cert.X509Certificate clientCertificate() {
    return null;
  }
}
