package dev.keystone.testing;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** A CA for client certificates (mutual TLS tests), and client contexts that present its certificates. */
public final class ClientCertificates {

  private final KeyPair caKey;
  private final X509Certificate ca;
  private final Path caPem;
  private long serial = 1;

  private ClientCertificates(KeyPair caKey, X509Certificate ca, Path caPem) {
    this.caKey = caKey;
    this.ca = ca;
    this.caPem = caPem;
  }

  /** A new CA named {@code name}, its certificate written to {@code dir/NAME-ca.pem}. */
  public static ClientCertificates ca(Path dir, String name) throws Exception {
    KeyPair k = key();
    X500Name n = new X500Name("CN=" + name + " client CA");
    Instant now = Instant.now();
    var b = new JcaX509v3CertificateBuilder(n, BigInteger.ONE, Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(2))), n, k.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    X509Certificate c = new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(k.getPrivate())));
    Path pem = dir.resolve(name + "-ca.pem");
    Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(c.getEncoded())
        + "\n-----END CERTIFICATE-----\n");
    return new ClientCertificates(k, c, pem);
  }

  public Path caPem() {
    return caPem;
  }

  /**
   * A client context presenting a certificate for {@code subject} (e.g. "CN=partner-1,O=Partner")
   * from this CA, trusting the servers that {@code servers} trusts.
   */
  public SSLContext client(String subject, TestCertificates servers) throws Exception {
    return client(new X500Name(subject), servers);
  }

  /** The same for a subject made attribute by attribute (any characters in its values). */
  public SSLContext client(X500Name subject, TestCertificates servers) throws Exception {
    KeyPair k = key();
    Instant now = Instant.now();
    var b = new JcaX509v3CertificateBuilder(new X500Name(ca.getSubjectX500Principal().getName()), BigInteger.valueOf(++serial),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(1))), subject, k.getPublic());
    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
    X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("client", k.getPrivate(), "pw".toCharArray(), new X509Certificate[] {leaf, ca});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "pw".toCharArray());
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (var in = Files.newInputStream(servers.caPem())) {
      trust.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  private static KeyPair key() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }
}
