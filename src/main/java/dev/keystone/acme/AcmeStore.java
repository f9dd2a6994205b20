package dev.keystone.acme;

import dev.keystone.config.PemKeys;
import dev.keystone.config.ServerCertificate;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The {@code acme.data_dir}: the account key ({@code account.key}) and, per set of names,
 * {@code certificates/FIRST-NAME-HASH/certificate.pem} (the chain, then its key). Files are
 * written with mode 0600 in directories of mode 0700, each complete before it replaces the old
 * one (a new file renamed over it), so a crash never leaves half a key or a key beside another
 * certificate, and a reader never sees either.
 */
final class AcmeStore {

  private final Path dir;

  AcmeStore(Path dir) {
    this.dir = dir;
  }

  /** The names' directory name: the first name and a hash of them all, sorted. */
  static String key(List<String> names) {
    List<String> sorted = new ArrayList<>(names);
    java.util.Collections.sort(sorted);
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(String.join(",", sorted).getBytes(StandardCharsets.US_ASCII));
      return names.get(0) + "-" + HexFormat.of().formatHex(h, 0, 6);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A kept file larger than this is not read (a chain and its key are a few KiB): ordered again. */
  static final long MAX_FILE = 1 << 20;

  /**
   * The kept certificate for {@code names}, or null when there is none, or it is not a regular
   * file of at most {@link #MAX_FILE}, or it does not read back as a chain and its key (attack
   * s13b-5: a huge planted file was read whole and ended the gateway).
   */
  ServerCertificate load(List<String> names) {
    Path f = dir.resolve("certificates").resolve(key(names)).resolve("certificate.pem");
    try {
      java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(f,
          java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
      if (!a.isRegularFile() || a.size() > MAX_FILE) {
        return null;
      }
      return fromPem(f, Files.readString(f, StandardCharsets.US_ASCII));
    } catch (IOException e) {
      return null; // ordered again
    }
  }

  /** A chain and its key as kept ({@code pem}: the chain, then the key), or null when it is not that. */
  static ServerCertificate fromPem(Path f, String pem) {
    try {
      int k = pem.indexOf("-----BEGIN PRIVATE KEY-----");
      if (k < 0) {
        return null;
      }
      String chainPem = pem.substring(0, k);
      String keyPem = pem.substring(k);
      X509Certificate leaf = leaf(chainPem);
      if (leaf == null || !PemKeys.signsFor(privateKey(keyPem), leaf)) {
        return null;
      }
      return new ServerCertificate(f, f, chainPem, keyPem);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return null;
    }
  }

  /** The file {@link #save} keeps {@code names}' certificate in. */
  Path file(List<String> names) {
    return dir.resolve("certificates").resolve(key(names)).resolve("certificate.pem");
  }

  /** Keeps a certificate another instance of the cluster issued (chain, then key). */
  void keep(List<String> names, String pem) throws IOException {
    Path d = dir.resolve("certificates").resolve(key(names));
    privateDir(dir);
    privateDir(dir.resolve("certificates"));
    privateDir(d);
    write(d.resolve("certificate.pem"), pem);
  }

  /** Replaces the account key with the cluster's (kept in the state store). */
  void keepAccountKey(String pem) throws IOException {
    privateDir(dir);
    write(dir.resolve("account.key"), pem);
  }

  /**
   * Keeps a newly issued certificate and its key, in one file written whole and renamed into
   * place: a crash between two files left a new key beside an old certificate, which then served
   * nothing (attack s13b-3).
   */
  ServerCertificate save(List<String> names, String chainPem, KeyPair key) throws IOException {
    Path d = dir.resolve("certificates").resolve(key(names));
    privateDir(dir);
    privateDir(dir.resolve("certificates"));
    privateDir(d);
    String keyPem = pem(key.getPrivate());
    Path f = d.resolve("certificate.pem");
    write(f, chainPem + keyPem);
    return new ServerCertificate(f, f, chainPem, keyPem);
  }

  /** A certificate as {@link #save} would keep it, when it could not be (served from memory). */
  ServerCertificate unsaved(List<String> names, String chainPem, KeyPair key) {
    Path f = dir.resolve("certificates").resolve(key(names)).resolve("certificate.pem");
    return new ServerCertificate(f, f, chainPem, pem(key.getPrivate()));
  }

  /** The account's key pair, made and kept on first use. */
  KeyPair accountKey() throws IOException, GeneralSecurityException {
    Path f = dir.resolve("account.key");
    if (Files.isRegularFile(f)) {
      PrivateKey k = privateKey(Files.readString(f, StandardCharsets.US_ASCII));
      return new KeyPair(publicOf((ECPrivateKey) k), k);
    }
    privateDir(dir);
    KeyPair k = newKey();
    write(f, pem(k.getPrivate()));
    return k;
  }

  static KeyPair newKey() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  /** The first certificate of a PEM chain, or null. */
  static X509Certificate leaf(String pem) {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      return null;
    }
  }

  /** A client context that trusts the CA roots in {@code pem} (a private ACME server). */
  static SSLContext trusting(String pem) throws GeneralSecurityException, IOException {
    java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    int i = 0;
    for (var c : CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
      ks.setCertificateEntry("ca" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  static String pem(PrivateKey k) {
    return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(k.getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
  }

  static PrivateKey privateKey(String pem) throws GeneralSecurityException {
    PrivateKey k = PemKeys.fromPem(pem);
    if (k == null) {
      throw new GeneralSecurityException("no PKCS#8 private key");
    }
    return k;
  }

  /** The public half of an EC private key (the account key is kept as its private half only). */
  static PublicKey publicOf(ECPrivateKey k) throws GeneralSecurityException {
    // acme4j finds the account by its public key: derive it with BouncyCastle's point arithmetic,
    // on the key's own curve (a P-384 key given by an operator works too)
    var spec = org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util.convertSpec(k.getParams());
    var q = spec.getG().multiply(k.getS()).normalize();
    var point = new java.security.spec.ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger());
    return KeyFactory.getInstance("EC").generatePublic(new java.security.spec.ECPublicKeySpec(point, k.getParams()));
  }

  static void privateDir(Path d) throws IOException {
    if (!Files.isDirectory(d)) {
      Files.createDirectories(d);
      Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
    }
  }

  static void write(Path f, String content) throws IOException {
    dev.keystone.config.PrivateFiles.replace(f, content.getBytes(StandardCharsets.US_ASCII));
  }
}
