package dev.keystone.config;

/**
 * The TLS listener ({@code tls_listen}, {@code tls_default}); tenants' certificates are on the
 * tenants ({@link TenantConfig#tls()}).
 *
 * @param listen   where clients connect with TLS; null: no TLS listener
 * @param fallback the certificate for a client that names no tenant's domain (or none at all);
 *                 null: such a handshake fails
 * @param acme     where tenants with {@code tls: auto} get their certificates; null when none has it
 */
public record ServerTls(ListenAddress listen, ServerCertificate fallback, AcmeConfig acme) {

  public static final ServerTls NONE = new ServerTls(null, null, null);

  public boolean enabled() {
    return listen != null;
  }
}
