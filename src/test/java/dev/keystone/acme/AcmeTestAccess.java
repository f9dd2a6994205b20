package dev.keystone.acme;

import java.security.KeyPair;
import java.security.cert.X509Certificate;

/** What tests in other packages need of the acme package's internals. */
public final class AcmeTestAccess {

  private AcmeTestAccess() {
  }

  public static X509Certificate validationCertificate(String domain, KeyPair key, byte[] digest) throws Exception {
    return AcmeIssuer.validationCertificate(domain, key, digest);
  }
}
