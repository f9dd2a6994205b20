package dev.keystone.config;

import dev.keystone.model.UpstreamTls;


import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Reads a service's {@code tls_verify}, {@code tls_ca} and {@code tls_server_name}. The CA file is
 * read and parsed here, so a missing or broken file rejects the config with its line instead of
 * failing every request later.
 */
final class TlsBinder {

  /** A DNS name: letters, digits, hyphens, dots (SNI carries names, never addresses). */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

  private TlsBinder() {
  }

  static UpstreamTls bind(Section s, String url, String source) {
    boolean https = url.toLowerCase(Locale.ROOT).startsWith("https://");
    boolean verify = s.bool("tls_verify", true);
    String ca = s.string("tls_ca", null);
    String serverName = s.string("tls_server_name", null);
    for (String key : new String[] {"tls_verify", "tls_ca", "tls_server_name"}) {
      if (s.has(key) && !https) {
        s.problems().add(s.keyPath(key), "only means something for an https:// url");
      }
    }
    Path caFile = null;
    if (ca != null && https) {
      caFile = readableCa(s, ca, source);
    }
    if (serverName != null && !NAME.matcher(serverName).matches()) {
      s.problems().add(s.keyPath("tls_server_name"), "must be a DNS name such as api.internal, got '" + serverName + "'");
      serverName = null;
    }
    if (!verify && (caFile != null || serverName != null) && https) {
      s.problems().add(s.keyPath("tls_verify"), "is false, so tls_ca and tls_server_name would be ignored");
    }
    return new UpstreamTls(verify, caFile, serverName);
  }

  /** A CA file larger than this is refused unread (a system bundle is about 200 KiB). */
  static final int MAX_CA_FILE = 4 * 1024 * 1024;

  private static Path readableCa(Section s, String ca, String source) {
    Path file;
    try {
      file = ScriptFiles.baseDir(source, s.problems().inputs).resolve(ca).normalize();
    } catch (InvalidPathException e) {
      s.problems().add(s.keyPath("tls_ca"), "not a path: " + ca);
      return null;
    }
    try {
      byte[] pem = s.problems().inputs.read(file, MAX_CA_FILE);
      if (CertificateFactory.getInstance("X.509").generateCertificates(new java.io.ByteArrayInputStream(pem)).isEmpty()) {
        s.problems().add(s.keyPath("tls_ca"), ca + " holds no PEM certificate");
        return null;
      }
      return file;
    } catch (ConfigInputs.TooLarge e) {
      s.problems().add(s.keyPath("tls_ca"), ca + " has " + e.size + " bytes, above the limit of " + (MAX_CA_FILE >> 20)
          + " MiB for a CA file");
      return null;
    } catch (IOException e) {
      s.problems().add(s.keyPath("tls_ca"), "cannot read " + ca + ": " + e.getClass().getSimpleName());
      return null;
    } catch (CertificateException e) {
      s.problems().add(s.keyPath("tls_ca"), ca + " is not a PEM certificate file: " + e.getMessage());
      return null;
    }
  }
}
