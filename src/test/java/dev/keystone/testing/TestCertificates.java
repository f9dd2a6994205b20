package dev.keystone.testing;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A test CA and the server certificates it issues, made with the JDK's keytool (no library) and
 * written as the PEM files a config names: {@code NAME.pem} (the leaf, then the CA) and
 * {@code NAME.key} (PKCS#8).
 */
public final class TestCertificates {

  /** A server certificate's files. */
  public record Issued(Path cert, Path key) {
  }

  private final Path dir;
  private final Path caPem;

  private TestCertificates(Path dir) throws Exception {
    this.dir = dir;
    keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=Keystone Test CA",
        "-ext", "bc:c", "-validity", "2", "-keystore", "test-ca.p12");
    keytool("-exportcert", "-alias", "ca", "-keystore", "test-ca.p12", "-rfc", "-file", "test-ca.pem");
    this.caPem = dir.resolve("test-ca.pem");
  }

  /** A new CA whose files are kept in {@code dir}. */
  public static TestCertificates in(Path dir) {
    try {
      return new TestCertificates(dir);
    } catch (Exception e) {
      throw new AssertionError("could not make a test CA: " + e, e);
    }
  }

  public Path caPem() {
    return caPem;
  }

  /** A certificate for {@code names} (DNS names, or {@code ip:ADDRESS}; the first is also the subject), signed by the CA. */
  public Issued issue(String file, String... names) {
    return issue(List.of("-keyalg", "EC", "-groupname", "secp256r1"), file, names);
  }

  /** The same with an RSA key (2048 bits). */
  public Issued issueRsa(String file, String... names) {
    return issue(List.of("-keyalg", "RSA", "-keysize", "2048"), file, names);
  }

  private Issued issue(List<String> keyOptions, String file, String... names) {
    try {
      Files.deleteIfExists(dir.resolve(file + ".p12"));
      List<String> gen = new ArrayList<>(List.of("-genkeypair", "-alias", "server"));
      gen.addAll(keyOptions);
      gen.addAll(List.of("-dname", "CN=" + names[0], "-validity", "2", "-keystore", file + ".p12"));
      keytool(gen.toArray(String[]::new));
      keytool("-certreq", "-alias", "server", "-keystore", file + ".p12", "-file", file + ".csr");
      StringBuilder san = new StringBuilder("san=");
      for (int i = 0; i < names.length; i++) {
        san.append(i == 0 ? "" : ",").append(names[i].startsWith("ip:") ? "" : "dns:").append(names[i]);
      }
      keytool("-gencert", "-alias", "ca", "-keystore", "test-ca.p12", "-infile", file + ".csr", "-outfile", file + ".leaf.pem",
          "-rfc", "-ext", san.toString(), "-validity", "2");
      Path cert = dir.resolve(file + ".pem");
      Files.writeString(cert, Files.readString(dir.resolve(file + ".leaf.pem")) + Files.readString(caPem));
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(dir.resolve(file + ".p12"))) {
        ks.load(in, "changeit".toCharArray());
      }
      PrivateKey key = (PrivateKey) ks.getKey("server", "changeit".toCharArray());
      Path keyFile = dir.resolve(file + ".key");
      Files.writeString(keyFile, "-----BEGIN PRIVATE KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.getEncoded()) + "\n-----END PRIVATE KEY-----\n");
      return new Issued(cert, keyFile);
    } catch (Exception e) {
      throw new AssertionError("could not issue a test certificate: " + e, e);
    }
  }

  /** A client context that trusts any server (a test that checks the certificate it gets by other means). */
  public static SSLContext trustingAnyServer() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
        public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) {
        }

        public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) {
        }

        public java.security.cert.X509Certificate[] getAcceptedIssuers() {
          return new java.security.cert.X509Certificate[0];
        }
      }}, null);
      return ctx;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** A client context that trusts this CA only. */
  public SSLContext clientContext() {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      try (InputStream in = Files.newInputStream(caPem)) {
        trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The DNS names a certificate is for. */
  public static List<String> dnsNames(X509Certificate cert) throws Exception {
    List<String> out = new ArrayList<>();
    for (List<?> e : cert.getSubjectAlternativeNames()) {
      if (Integer.valueOf(2).equals(e.get(0))) {
        out.add((String) e.get(1));
      }
    }
    return out;
  }

  private void keytool(String... args) throws Exception {
    keytool(dir, args);
  }

  /** Runs the JDK's keytool in {@code dir} on PKCS#12 stores with the password "changeit". */
  public static void keytool(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("-storepass", "changeit", "-storetype", "PKCS12"));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("keytool " + String.join(" ", args) + ": " + out);
    }
  }
}
