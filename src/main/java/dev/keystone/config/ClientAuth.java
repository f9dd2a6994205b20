package dev.keystone.config;

import java.nio.file.Path;

/**
 * A tenant's client certificates (mutual TLS): its handshakes ask the client for a certificate
 * issued by {@code client_ca}, and the verified subject goes to the tenant's scripts, logs and
 * backends.
 *
 * @param caFile   the CA file as named in the config
 * @param caPem    the CA certificates as read and checked when the config loaded
 * @param required {@code client_auth: required} (the default): a handshake without a valid
 *                 certificate fails, and plain-HTTP requests to the tenant are refused;
 *                 {@code optional}: a certificate is verified when the client sends one
 */
public record ClientAuth(Path caFile, String caPem, boolean required) {

  /**
   * What a handshake made with these settings proves, as text: the mode and the CA's digest. Two
   * tenants with the same key accept the same certificates; the check of each request compares
   * the key of the handshake its connection made with the key of the tenant it is routed to.
   */
  public String key() {
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256")
          .digest(caPem.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      return (required ? "required:" : "optional:") + java.util.HexFormat.of().formatHex(d);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The key of {@code a}, or "" for no client certificates. */
  public static String keyOf(ClientAuth a) {
    return a == null ? "" : a.key();
  }
}
