package dev.keystone.config;

/**
 * The {@code admin} block: the administration listener (JSON API, metrics, dashboard), kept
 * apart from tenant traffic.
 *
 * @param enabled  whether the admin listener runs (default true)
 * @param listen   where it listens; loopback by default, so only this machine reaches it
 * @param explicit whether {@code listen} was written in the config: an unusable default port is a
 *                 warning (the proxy still serves), an unusable chosen one stops the start
 * @param token    the bearer token from the config, or null (then {@code KEYSTONE_ADMIN_TOKEN}, or
 *                 a random one written to a private file)
 */
public record AdminConfig(boolean enabled, ListenAddress listen, boolean explicit, String token) {

  public static final String DEFAULT_LISTEN = "127.0.0.1:9901";

  /** No {@code admin} block. */
  public static final AdminConfig DEFAULTS = new AdminConfig(true, ListenAddress.parse(DEFAULT_LISTEN), false, null);

  /** The same block listening elsewhere (the command line's {@code --admin}). */
  public AdminConfig withListen(ListenAddress other) {
    return new AdminConfig(enabled, other, true, token);
  }

  @Override
  public String toString() {
    return "AdminConfig[enabled=" + enabled + ", listen=" + listen + ", token=" + (token == null ? "none" : "(redacted)") + "]";
  }

  static AdminConfig bind(Section s) {
    if (s == null) {
      return DEFAULTS;
    }
    boolean enabled = s.bool("enabled", true);
    boolean explicit = s.has("listen");
    ListenAddress listen = s.parsed("listen", DEFAULTS.listen(), "an address such as 127.0.0.1:9901", ListenAddress::parse);
    String token = s.string("token", null);
    if (token != null && token.isBlank()) {
      token = null; // an unset ${KEYSTONE_ADMIN_TOKEN:-}: fall back to the environment or a generated token
    } else if (token != null && token.length() < 16) {
      s.problems().add(s.keyPath("token"), "too short to be a secret: use at least 16 characters (openssl rand -hex 24)");
    }
    s.finish();
    return new AdminConfig(enabled, listen, explicit, token);
  }
}
