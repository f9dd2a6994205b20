package dev.keystone.config;

import java.nio.file.Path;

/**
 * The top-level {@code acme} block: where tenants with {@code tls: auto} get their certificates.
 *
 * @param directory the CA's ACME directory URL (Let's Encrypt's by default)
 * @param email     the account's contact for the CA's expiry and policy mail, or null
 * @param caRoot    the PEM of the CA roots to trust when talking to a private ACME server, or null
 *                  for the JDK's trusted CAs
 * @param dataDir   where the account key and the issued certificates and keys are kept
 * @param challenges the validations the gateway answers, the one tried first first: {@link #HTTP_01}
 *                   on the plain listener, {@link #TLS_ALPN_01} on the TLS listener; after a failed
 *                   order the next one is tried
 */
public record AcmeConfig(String directory, String email, String caRoot, Path dataDir, java.util.List<String> challenges) {

  public static final String LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";
  public static final String HTTP_01 = "http-01";
  public static final String TLS_ALPN_01 = "tls-alpn-01";
  public static final java.util.List<String> ALL_CHALLENGES = java.util.List.of(HTTP_01, TLS_ALPN_01);

  public AcmeConfig {
    challenges = challenges == null || challenges.isEmpty() ? ALL_CHALLENGES : java.util.List.copyOf(challenges);
  }

  /** The same with the default challenges (both). */
  public AcmeConfig(String directory, String email, String caRoot, Path dataDir) {
    this(directory, email, caRoot, dataDir, ALL_CHALLENGES);
  }

  @Override
  public String toString() {
    return "AcmeConfig[" + directory + ", " + email + ", " + dataDir + ", " + challenges + "]";
  }
}
