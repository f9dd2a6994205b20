package dev.keystone.gateway;

import dev.keystone.config.AdminConfig;
import dev.keystone.config.GatewayConfig;
import dev.keystone.model.Limits;

import java.util.logging.Logger;

/**
 * Settings a reload cannot change, because they belong to sockets that are already open: the
 * listen addresses, the admin listener, and the limits set on the listening socket's decoder
 * (header size, request line length). A reload keeps the running values, so the gateway does what
 * its warning says, and says which changes wait for a restart.
 */
final class RestartOnly {

  private static final Logger LOG = Logger.getLogger("keystone.gateway");

  private RestartOnly() {
  }

  /**
   * {@code next} with the running listener settings, warning about those that changed.
   * {@code adminGiven}: the admin address came from the command line and stays in force, whatever
   * the file says (as {@code --listen} does).
   */
  static GatewayConfig keep(GatewayConfig running, GatewayConfig next, boolean adminGiven) {
    Limits now = running.limits();
    Limits wanted = next.limits();
    if (wanted.maxHeaderSize() != now.maxHeaderSize() || wanted.maxUriLength() != now.maxUriLength()) {
      LOG.warning("max_header_size and max_uri_length are set on the listening socket: changes to them apply "
          + "after a restart (the other limits and the timeouts apply now)");
      next = next.withLimitsAndTimeouts(new Limits(now.maxHeaderSize(), now.maxUriLength(), wanted.maxBodySize(),
          wanted.upstreamConnections(), wanted.bodyBuffer()), next.timeouts());
    }
    AdminConfig admin = running.admin();
    if ((!adminGiven && !next.admin().listen().equals(admin.listen())) || next.admin().enabled() != admin.enabled()) {
      LOG.warning("admin.listen and admin.enabled apply after a restart (a new admin.token applies now)");
    }
    if (!java.util.Objects.equals(next.tls().listen(), running.tls().listen())) {
      LOG.warning("tls_listen " + (running.tls().enabled() ? "stays " + running.tls().listen() : "stays off")
          + " until a restart (a TLS listener opens and moves only then; certificates apply now)"
          + (running.tls().enabled() && !next.tls().enabled()
          ? ": the new config has no certificate, so every TLS handshake fails until then" : ""));
    }
    // The listeners stay where they are, including addresses given on the command line.
    return next.withListen(running.listen()).withTlsListen(running.tls().listen())
        .withAdmin(new AdminConfig(admin.enabled(), admin.listen(), admin.explicit(), next.admin().token()));
  }
}
