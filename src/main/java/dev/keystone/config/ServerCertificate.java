package dev.keystone.config;

import java.nio.file.Path;

/**
 * A certificate the gateway presents to clients: the PEM files as named in the config and their
 * content as read and checked when the config loaded (the chain parses, the key is PKCS#8 and
 * belongs to the first certificate), so a reload with a broken file is refused with its line and
 * the certificate being served stays.
 *
 * @param certFile the certificate chain's file, leaf first
 * @param keyFile  the private key's file
 * @param certPem  the chain as read
 * @param keyPem   the key as read (the parsed-config cache keeps it, in a file only this user reads)
 */
public record ServerCertificate(Path certFile, Path keyFile, String certPem, String keyPem) {

  /** {@code tls: auto}: the certificate comes from the {@code acme} CA, kept in its data_dir. */
  public static final ServerCertificate AUTO = new ServerCertificate(null, null, null, null);
  /** {@code tls: local}: the certificate comes from the gateway's own CA (kept in the acme data_dir). */
  public static final ServerCertificate LOCAL = new ServerCertificate(null, null, null, "(local)");

  /** Whether the gateway issues or obtains this certificate itself ({@link #AUTO} or {@link #LOCAL}): no files named. */
  public boolean auto() {
    return certPem == null;
  }

  /** {@code tls: auto}: from the ACME CA. */
  public boolean acme() {
    return certPem == null && keyPem == null;
  }

  /** {@code tls: local}: from the gateway's own CA. */
  public boolean local() {
    return certPem == null && keyPem != null;
  }

  @Override
  public String toString() {
    return "ServerCertificate[" + certFile + ", " + keyFile + "]"; // never the key
  }
}
