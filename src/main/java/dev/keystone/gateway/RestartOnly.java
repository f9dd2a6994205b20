package dev.keystone.gateway;

import dev.keystone.config.AdminConfig;
import dev.keystone.config.GatewayConfig;

import java.util.logging.Logger;

/**
 * Settings a reload cannot change, because they belong to sockets that are already open: the
 * listen addresses, the admin listener, and the limits and timeouts set on the listening socket.
 * A reload keeps the running values and says which changes wait for a restart.
 */
final class RestartOnly {

  private static final Logger LOG = Logger.getLogger("keystone.gateway");

  private RestartOnly() {
  }

  /** {@code next} with the running listener settings, warning about those that changed. */
  static GatewayConfig keep(GatewayConfig running, GatewayConfig next) {
    if (next.limits().maxHeaderSize() != running.limits().maxHeaderSize()
        || next.limits().maxUriLength() != running.limits().maxUriLength()
        || !next.timeouts().idle().equals(running.timeouts().idle())
        || !next.timeouts().headerRead().equals(running.timeouts().headerRead())) {
      LOG.warning("max_header_size, max_uri_length, timeouts.idle and timeouts.header_read are set on the "
          + "listening socket: changes to them apply after a restart (max_body_size applies now)");
    }
    AdminConfig admin = running.admin();
    if (!next.admin().listen().equals(admin.listen()) || next.admin().enabled() != admin.enabled()) {
      LOG.warning("admin.listen and admin.enabled apply after a restart (a new admin.token applies now)");
    }
    // The listeners stay where they are, including addresses given on the command line.
    return next.withListen(running.listen())
        .withAdmin(new AdminConfig(admin.enabled(), admin.listen(), admin.explicit(), next.admin().token()));
  }
}
