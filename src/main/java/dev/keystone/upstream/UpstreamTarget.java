package dev.keystone.upstream;

import dev.keystone.model.Backend;


import dev.keystone.model.UpstreamTls;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where and how to connect to a backend, for the proxy and the health checks alike: host, port,
 * and for https the verification its {@link UpstreamTls} asks for. With a
 * {@code tls_server_name}, the connection goes to the URL's host while the certificate is
 * verified against, and SNI names, the configured name.
 */
public final class UpstreamTarget {

  /** Equal TLS settings share one options object, so their connections share a pool. */
  private static final Map<UpstreamTls, ClientSSLOptions> SSL = new ConcurrentHashMap<>();

  private UpstreamTarget() {
  }

  public static <T extends HttpConnectOptions> T of(Backend backend, T options) {
    options.setHost(backend.host()).setPort(backend.port()).setSsl(backend.ssl());
    if (backend.ssl()) {
      UpstreamTls tls = backend.tls();
      options.setSslOptions(SSL.computeIfAbsent(tls, UpstreamTarget::sslOptions));
      if (tls.serverName() != null) {
        options.setServer(SocketAddress.inetSocketAddress(backend.port(), backend.host()));
        options.setHost(tls.serverName());
      }
    }
    return options;
  }

  private static ClientSSLOptions sslOptions(UpstreamTls tls) {
    ClientSSLOptions o = new ClientSSLOptions();
    if (!tls.verify()) {
      return o.setTrustAll(true).setHostnameVerificationAlgorithm("");
    }
    o.setHostnameVerificationAlgorithm("HTTPS");
    if (tls.caFile() != null) {
      o.setTrustOptions(new PemTrustOptions().addCertPath(tls.caFile().toString()));
    }
    return o;
  }
}
