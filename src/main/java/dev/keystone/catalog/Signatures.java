package dev.keystone.catalog;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * Ed25519 signatures of catalog entries. What is signed is the entry's identity and content,
 * {@code "keystone-catalog-entry-v1\n" + name + "\n" + version + "\n" + sha256 + "\n"}: a
 * signature cannot be moved to another entry or version, and the SHA-256 covers every file.
 * Keys are PEM (the public key as {@code openssl pkey -pubout} writes it; the private key
 * PKCS#8, as {@code openssl genpkey -algorithm ed25519} writes it).
 */
public final class Signatures {

  private Signatures() {
  }

  static byte[] message(String name, String version, String sha256) {
    return ("keystone-catalog-entry-v1\n" + name + "\n" + version + "\n" + sha256 + "\n").getBytes(StandardCharsets.UTF_8);
  }

  public static PublicKey publicKey(String pem) throws CatalogException {
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der(pem, "PUBLIC KEY")));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new CatalogException("not an Ed25519 public key (PEM 'PUBLIC KEY'): " + e.getMessage());
    }
  }

  public static PrivateKey privateKey(String pem) throws CatalogException {
    try {
      return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der(pem, "PRIVATE KEY")));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new CatalogException("not an Ed25519 private key (PEM 'PRIVATE KEY', PKCS#8): " + e.getMessage());
    }
  }

  /** {@code sha256:HEX} of the key's encoding: which key an installed entry was verified with. */
  public static String fingerprint(PublicKey key) {
    return key == null ? "" : "sha256:" + Digest.sha256(key.getEncoded());
  }

  /** The base64 signature of an entry. */
  public static String sign(PrivateKey key, String name, String version, String sha256) throws CatalogException {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initSign(key);
      s.update(message(name, version, sha256));
      return Base64.getEncoder().encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new CatalogException("cannot sign: " + e.getMessage(), e);
    }
  }

  /** True when {@code signature} (base64) is {@code key}'s signature of the entry. */
  public static boolean verify(PublicKey key, String name, String version, String sha256, String signature) {
    if (signature == null) {
      return false;
    }
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initVerify(key);
      s.update(message(name, version, sha256));
      return s.verify(Base64.getDecoder().decode(signature));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false; // malformed: not a valid signature
    }
  }

  private static byte[] der(String pem, String type) {
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int b = pem.indexOf(begin);
    int e = pem.indexOf(end);
    if (b < 0 || e < b) {
      throw new IllegalArgumentException("no " + begin + " block");
    }
    return Base64.getMimeDecoder().decode(pem.substring(b + begin.length(), e));
  }
}
