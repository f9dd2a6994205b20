package dev.keystone.config;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Locale;

/** Private keys in PKCS#8, and whether one belongs to a certificate: for the config and the served table. */
public final class PemKeys {

  private static final String BEGIN = "-----BEGIN PRIVATE KEY-----";
  private static final String END = "-----END PRIVATE KEY-----";

  private PemKeys() {
  }

  /** The key of a PKCS#8 DER body, RSA, EC or EdDSA; null when it is none of them. */
  static PrivateKey pkcs8(byte[] der) {
    for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // the next algorithm
      }
    }
    return null;
  }

  /** The key in a {@code BEGIN PRIVATE KEY} PEM; null when there is none or it does not parse. */
  public static PrivateKey fromPem(String pem) {
    int from = pem.indexOf(BEGIN);
    int to = from < 0 ? -1 : pem.indexOf(END, from);
    if (to < 0) {
      return null;
    }
    try {
      return pkcs8(Base64.getMimeDecoder().decode(pem.substring(from + BEGIN.length(), to)));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** Whether {@code key} signs what {@code cert}'s public key verifies: the pair belongs together. */
  public static boolean signsFor(PrivateKey key, X509Certificate cert) {
    String algorithm = switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "RSASSA-PSS" -> "RSASSA-PSS";
      default -> key.getAlgorithm(); // Ed25519, Ed448, EdDSA
    };
    try {
      byte[] probe = "keystone".getBytes(StandardCharsets.US_ASCII);
      Signature sign = Signature.getInstance(algorithm);
      if (algorithm.equals("RSASSA-PSS")) {
        sign.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
            java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
      }
      sign.initSign(key);
      sign.update(probe);
      byte[] sig = sign.sign();
      Signature verify = Signature.getInstance(algorithm);
      if (algorithm.equals("RSASSA-PSS")) {
        verify.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
            java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
      }
      verify.initVerify(cert.getPublicKey());
      verify.update(probe);
      return verify.verify(sig);
    } catch (GeneralSecurityException e) {
      return false; // a key of another kind than the certificate's
    }
  }}
