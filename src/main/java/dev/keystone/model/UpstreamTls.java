package dev.keystone.model;

import java.nio.file.Path;

/**
 * How the gateway checks an https:// backend: its certificate must chain to a trusted CA (the
 * JDK's, or the one in {@code tls_ca}) and name the host ({@code tls_server_name}, else the URL's
 * host), which is also sent as SNI when it is a name. {@code tls_verify: false} skips both checks
 * (a test backend with a self-signed certificate); it is never the default. The original Go
 * gateway verified too (Go's default transport), so its files keep working.
 *
 * @param verify     whether the certificate and host name are verified (default true)
 * @param caFile     PEM file of the CA certificates to trust instead of the JDK's, or null
 * @param serverName the name to verify and send as SNI instead of the URL's host, or null
 */
public record UpstreamTls(boolean verify, Path caFile, String serverName) {

  public static final UpstreamTls DEFAULT = new UpstreamTls(true, null, null);
}
