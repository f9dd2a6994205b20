package dev.keystone.acme;

import dev.keystone.config.ServerCertificate;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * {@code tls: local}: certificates from a certificate authority of the gateway's own, for
 * development, demos and intranets (as Caddy's {@code tls internal}). The CA is made once and kept
 * in {@code data_dir/local-ca} ({@code ca.pem}, which clients are told to trust, and
 * {@code ca.key}, mode 0600); each tenant's certificate is issued in memory, for its domains
 * (wildcards included), valid {@link #LEAF_LIFETIME}, and issued again once a third of that is left.
 */
public final class LocalCa {

  static final Duration LEAF_LIFETIME = Duration.ofDays(30);
  static final Duration CA_LIFETIME = Duration.ofDays(3650);

  private final Path dataDir;
  private final Path dir;
  private KeyPair caKey;
  private X509Certificate caCert;
  private final Map<String, ServerCertificate> issued = new ConcurrentHashMap<>();

  /** The CA kept in {@code dataDir/local-ca}. */
  public LocalCa(Path dataDir) {
    this.dataDir = dataDir;
    this.dir = dataDir.resolve("local-ca");
  }

  Path dataDir() {
    return dataDir;
  }

  /** Whether a certificate for {@code domains} was issued (since the start). */
  boolean issuedFor(List<String> domains) {
    return issued.containsKey(AcmeStore.key(domains));
  }

  /** The CA certificate's file: what a client trusts ({@code curl --cacert}). */
  public Path caFile() {
    return dir.resolve("ca.pem");
  }

  /** The certificate for {@code domains}, issued now when there is none or it is due. */
  public synchronized ServerCertificate certificate(List<String> domains, Instant now) throws IOException, GeneralSecurityException {
    String key = AcmeStore.key(domains);
    ServerCertificate have = issued.get(key);
    if (have != null && !AcmeManager.due(have, now)) {
      return have;
    }
    ensureCa(now);
    KeyPair leafKey = AcmeStore.newKey();
    X509Certificate leaf = sign(domains, leafKey, now);
    ServerCertificate c = new ServerCertificate(null, null, pem(leaf) + pem(caCert), AcmeStore.pem(leafKey.getPrivate()));
    issued.put(key, c);
    return c;
  }

  /** Whether {@code domains}' certificate is due (or missing): a sync then rebuilds the served table. */
  boolean due(List<String> domains, Instant now) {
    ServerCertificate have = issued.get(AcmeStore.key(domains));
    return have == null || AcmeManager.due(have, now);
  }

  private void ensureCa(Instant now) throws IOException, GeneralSecurityException {
    if (caCert != null) {
      return;
    }
    Path keyFile = dir.resolve("ca.key");
    boolean haveKey = Files.exists(keyFile, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    boolean havePem = Files.exists(caFile(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
    if (haveKey || havePem) {
      // A CA clients trust is never replaced on its own (attack s14b-4: a damaged ca.pem made a
      // new CA over the old key, unlogged): the operator restores it or moves it aside.
      String why = !havePem ? "its ca.pem is missing" : !haveKey ? "its ca.key is missing" : null;
      PrivateKey k = null;
      X509Certificate c = null;
      if (why == null) {
        try {
          k = AcmeStore.privateKey(Files.readString(keyFile, StandardCharsets.US_ASCII));
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
          why = "its ca.key does not read as a key";
        }
        c = AcmeStore.leaf(Files.readString(caFile(), StandardCharsets.US_ASCII));
        if (why == null && c == null) {
          why = "its ca.pem does not read as a certificate";
        } else if (why == null && (!(k instanceof ECPrivateKey) || !dev.keystone.config.PemKeys.signsFor(k, c))) {
          why = "its ca.key is not the key of its ca.pem";
        } else if (why == null && !now.isBefore(c.getNotAfter().toInstant())) {
          why = "it expired at " + c.getNotAfter().toInstant();
        }
      }
      if (why != null) {
        throw new GeneralSecurityException("the local CA in " + dir + " cannot be used (" + why + "): it is kept as it is;"
            + " restore it, or move the directory aside to make a new one (clients must then trust the new ca.pem)");
      }
      caKey = new KeyPair(AcmeStore.publicOf((ECPrivateKey) k), k);
      caCert = c;
      return;
    }
    AcmeStore.privateDir(dir);
    KeyPair k = AcmeStore.newKey();
    X500Name name = new X500Name("CN=Keystone local CA " + Long.toHexString(new SecureRandom().nextLong() >>> 16)
        + ", O=Keystone Gateway");
    try {
      var b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(CA_LIFETIME)), name, k.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(k.getPublic()));
      caCert = new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(k.getPrivate())));
    } catch (Exception e) {
      throw new GeneralSecurityException("could not make the local CA: " + e.getMessage(), e);
    }
    caKey = k;
    // Each file written whole and renamed into place. A crash between the two leaves one without
    // the other, which the next start refuses (above) rather than replaces.
    dev.keystone.config.PrivateFiles.replace(caFile(), pem(caCert).getBytes(StandardCharsets.US_ASCII));
    Files.setPosixFilePermissions(caFile(), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--")); // clients read it
    AcmeStore.write(keyFile, AcmeStore.pem(k.getPrivate()));
    java.util.logging.Logger.getLogger("keystone.acme").info("local CA made in " + dir + ": clients trust " + caFile());
  }

  private X509Certificate sign(List<String> domains, KeyPair leafKey, Instant now) throws GeneralSecurityException {
    try {
      var b = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(LEAF_LIFETIME)), new X500Name("CN=" + domains.get(0).replace(",", "")), leafKey.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      GeneralName[] names = domains.stream().map(d -> new GeneralName(GeneralName.dNSName, d)).toArray(GeneralName[]::new);
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(leafKey.getPublic()));
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
    } catch (Exception e) {
      throw new GeneralSecurityException("could not issue the local certificate for " + domains + ": " + e.getMessage(), e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(64, new SecureRandom());
  }

  private static String pem(X509Certificate c) throws GeneralSecurityException {
    return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(c.getEncoded()) + "\n-----END CERTIFICATE-----\n";
  }
}
