package dev.keystone.config;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The DNS names a certificate is for, and whether they cover a tenant's domain (RFC 6125). */
public final class CertificateNames {

  private CertificateNames() {
  }

  /** The subject alternative DNS names, lower-cased; empty when there are none (or they do not parse). */
  public static List<String> dnsNames(X509Certificate cert) {
    List<String> names = new ArrayList<>();
    try {
      var alt = cert.getSubjectAlternativeNames();
      if (alt != null) {
        for (List<?> entry : alt) {
          if (Integer.valueOf(2).equals(entry.get(0))) { // dNSName
            names.add(entry.get(1).toString().toLowerCase(Locale.ROOT));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // no usable extension
    }
    return names;
  }

  /** The DNS names, or the common name when there are none (to say what a refused certificate names). */
  static List<String> of(X509Certificate cert) {
    List<String> names = dnsNames(cert);
    if (names.isEmpty()) {
      try {
        for (var rdn : new javax.naming.ldap.LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
          if (rdn.getType().equalsIgnoreCase("CN")) {
            names.add(rdn.getValue().toString().toLowerCase(Locale.ROOT));
          }
        }
      } catch (javax.naming.InvalidNameException e) {
        // no name at all
      }
    }
    return names;
  }

  /** Whether the certificate lists DNS subject alternative names (not only a common name). */
  static boolean hasAltNames(X509Certificate cert) {
    return !dnsNames(cert).isEmpty();
  }

  /**
   * Whether a certificate for {@code names} is valid for {@code domain} (lower case): the same
   * name, or a wildcard {@code *.x} for one more label; a tenant's wildcard domain needs the
   * same wildcard in the certificate.
   */
  static boolean covers(List<String> names, String domain) {
    for (String n : names) {
      if (n.equals(domain)) {
        return true;
      }
      if (n.startsWith("*.") && !domain.startsWith("*.")) {
        int dot = domain.indexOf('.');
        if (dot > 0 && domain.substring(dot).equals(n.substring(1))) {
          return true;
        }
      }
    }
    return false;
  }
}
