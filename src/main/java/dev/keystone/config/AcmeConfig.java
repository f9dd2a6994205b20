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
 */
public record AcmeConfig(String directory, String email, String caRoot, Path dataDir) {

  public static final String LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";

  @Override
  public String toString() {
    return "AcmeConfig[" + directory + ", " + email + ", " + dataDir + "]";
  }
}
