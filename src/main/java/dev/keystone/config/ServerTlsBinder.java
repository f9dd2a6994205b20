package dev.keystone.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Reads the certificates the gateway serves: a tenant's {@code tls: {cert, key}}, and the
 * top-level {@code tls_listen} and {@code tls_default}. Every file is read and checked here (the
 * chain parses, the key is PKCS#8 and signs for the leaf, the leaf names the tenant's domains),
 * so a broken certificate rejects the config with its key and line instead of failing
 * handshakes later.
 */
final class ServerTlsBinder {

  /** A certificate or key file larger than this is refused unread (a long chain is a few KiB). */
  static final int MAX_PEM_FILE = 1 << 20;
  /** Where the TLS listener is when a tenant has a certificate and {@code tls_listen} is not given. */
  static final String DEFAULT_TLS_LISTEN = ":443";

  private ServerTlsBinder() {
  }

  /** A tenant's certificate, or null when it has none (or it is broken: reported). */
  static ServerCertificate tenant(Section t, List<String> domains, String source) {
    YamlNode raw = t.raw("tls");
    if (raw == null) {
      return null;
    }
    if (raw instanceof YamlNode.Scalar s) {
      if (!"auto".equals(s.text()) && !"local".equals(s.text())) {
        t.problems().add(s.line(), t.keyPath("tls"), "expected auto (a certificate from the acme CA), local (from the"
            + " gateway's own CA) or the certificate's files, tls: {cert: FILE, key: FILE}, got '" + s.text() + "'");
        return null;
      }
      if ("local".equals(s.text())) {
        if (domains.isEmpty()) {
          t.problems().add(s.line(), t.keyPath("tls"), "needs the tenant's domains: the certificate is for them");
        }
        return ServerCertificate.LOCAL;
      }
      if (domains.isEmpty()) {
        t.problems().add(s.line(), t.keyPath("tls"), "needs the tenant's domains: the CA certifies names");
      }
      for (String d : domains) {
        if (d.startsWith("*.")) {
          t.problems().add(s.line(), t.keyPath("tls"), "auto cannot certify the wildcard " + d + ": a CA validates"
              + " wildcards only over DNS (dns-01), which the gateway does not answer; give its certificate as files");
        }
      }
      return ServerCertificate.AUTO;
    }
    Section s = t.section("tls");
    if (s == null) {
      return null;
    }
    if (domains.isEmpty()) {
      t.problems().add(t.keyPath("tls"), "needs the tenant's domains: a client's TLS handshake names the domain"
          + " (SNI) whose certificate is served");
    }
    ServerCertificate c = certificate(s, source, domains);
    s.finish();
    return c;
  }

  /**
   * A tenant's client certificates ({@code client_ca}, {@code client_auth}), or null when it asks
   * for none. They need the tenant's own certificate: the handshake that asks for them is chosen
   * by the tenant's names.
   */
  static ClientAuth clientAuth(Section t, ServerCertificate tls, String source) {
    String mode = t.string("client_auth", null);
    String name = t.string("client_ca", null);
    if (name == null) {
      if (mode != null) {
        t.problems().add(t.keyPath("client_auth"), "needs client_ca: the CA whose certificates clients present");
      }
      return null;
    }
    if (mode != null && !mode.equals("required") && !mode.equals("optional")) {
      t.problems().add(t.keyPath("client_auth"), "expected required or optional, got '" + mode + "'");
    }
    if (tls == null && t.raw("tls") == null) {
      t.problems().add(t.keyPath("client_ca"), "needs the tenant's tls: client certificates are asked for in its TLS handshakes");
    }
    Path file = resolve(t, "client_ca", name, source);
    String pem = file == null ? null : read(t, "client_ca", name, file);
    List<X509Certificate> cas = pem == null ? null : chain(t, "client_ca", name, pem);
    if (cas == null) {
      return null;
    }
    for (X509Certificate c : cas) {
      if (c.getBasicConstraints() < 0) {
        // a leaf verifies no client: every handshake would fail (attack s14b note)
        t.problems().add(t.keyPath("client_ca"), name + " holds " + c.getSubjectX500Principal().getName()
            + ", which is not a CA certificate (no basicConstraints CA:TRUE): give the CA that issues the clients' certificates");
        return null;
      }
    }
    return new ClientAuth(file, pem, !"optional".equals(mode));
  }

  /**
   * Tenants that share a domain (hybrid routing by host and path) share its TLS handshake: the
   * first one's. Their client certificates must then be asked for alike, or the later tenant's
   * requests could never pass the check (a certificate from its own CA is refused in the first
   * one's handshake; attack s14b-1, variant B).
   */
  static void sharedNames(List<TenantConfig> tenants, Problems problems) {
    java.util.Map<String, TenantConfig> first = new java.util.HashMap<>();
    for (int i = 0; i < tenants.size(); i++) {
      TenantConfig t = tenants.get(i);
      for (String d : t.domains()) {
        TenantConfig f = first.putIfAbsent(d, t);
        if (f != null && f != t && !ClientAuth.keyOf(f.clientAuth()).equals(ClientAuth.keyOf(t.clientAuth()))) {
          problems.add("tenants[" + i + "].client_ca", "tenant " + t.name() + " shares the domain " + d + " with tenant "
              + f.name() + ", whose TLS handshake clients get for it: give both the same client_ca and client_auth");
        }
      }
    }
  }

  /** The TLS listener; {@code anyTenant}: some tenant has a {@code tls} key (valid or not: reported there). */
  static ServerTls listener(Section root, boolean anyTenant, boolean anyAuto, String source) {
    Section d = root.section("tls_default");
    ServerCertificate fallback = null;
    if (d != null) {
      fallback = certificate(d, source, List.of());
      d.finish();
    }
    ListenAddress listen = root.parsed("tls_listen", null, "an address", ListenAddress::parse);
    AcmeConfig acme = anyAuto || root.has("acme") ? acme(root, source) : null;
    for (Section t : root.sections("tenants")) {
      for (String key : new String[] {"https_redirect", "hsts"}) {
        if (t.has(key) && !anyTenant && fallback == null) {
          root.problems().add(t.keyPath(key), "needs the TLS listener: a tenant's tls: {cert, key}, or tls_default");
        }
      }
    }
    if (listen == null && (anyTenant || fallback != null)) {
      listen = ListenAddress.parse(DEFAULT_TLS_LISTEN);
    } else if (listen != null && !anyTenant && fallback == null) {
      root.problems().add(root.keyPath("tls_listen"), "no certificate to serve: give a tenant tls: {cert, key}, or tls_default");
    }
    return listen == null ? ServerTls.NONE : new ServerTls(listen, fallback, acme);
  }

  /** The {@code acme} block, with its defaults; null when the config has none and no tenant needs it. */
  private static AcmeConfig acme(Section root, String source) {
    Section s = root.section("acme");
    if (s == null) {
      return new AcmeConfig(AcmeConfig.LETS_ENCRYPT, null, null,
          ScriptFiles.baseDir(source, root.problems().inputs).resolve("keystone-data"));
    }
    String directory = s.string("directory", AcmeConfig.LETS_ENCRYPT);
    if (!directory.startsWith("https://")) { // RFC 8555 section 6.1: ACME runs over HTTPS only
      s.problems().add(s.keyPath("directory"), "must be the CA's ACME directory URL (https://...), got '" + directory + "'");
    }
    String email = s.string("email", null);
    if (email != null && !email.matches("[^@\\s]+@[^@\\s]+")) {
      s.problems().add(s.keyPath("email"), "not an email address: '" + email + "'");
    }
    String caRoot = null;
    String caName = s.string("ca_root", null);
    Path caFile = resolve(s, "ca_root", caName, source);
    if (caFile != null) {
      caRoot = read(s, "ca_root", caName, caFile);
      if (caRoot != null && chain(s, "ca_root", caName, caRoot) == null) {
        caRoot = null;
      }
    }
    String dataName = s.string("data_dir", "keystone-data");
    Path dataDir = ScriptFiles.baseDir(source, root.problems().inputs).resolve(dataName.isBlank() ? "keystone-data" : dataName)
        .normalize();
    if (dataName.isBlank()) {
      s.problems().add(s.keyPath("data_dir"), "must name a directory (it holds the account key and the certificates)");
    } else if (s.problems().inputs.isRegularFile(dataDir)) {
      s.problems().add(s.keyPath("data_dir"), dataName + " is a file: it must be a directory (made when missing)");
    }
    List<String> challenges = s.strings("challenges");
    for (int i = 0; i < challenges.size(); i++) {
      if (!AcmeConfig.ALL_CHALLENGES.contains(challenges.get(i))) {
        s.problems().add(s.keyPath("challenges") + "[" + i + "]", "unknown challenge '" + challenges.get(i) + "': expected "
            + String.join(" or ", AcmeConfig.ALL_CHALLENGES) + " (dns-01 is not answered: wildcard certificates come as files)");
      }
    }
    if (s.has("challenges") && challenges.isEmpty()) {
      s.problems().add(s.keyPath("challenges"), "needs at least one of " + AcmeConfig.ALL_CHALLENGES);
    }
    s.finish();
    return new AcmeConfig(directory, email, caRoot, dataDir, challenges.stream().distinct().toList());
  }

  private static ServerCertificate certificate(Section s, String source, List<String> domains) {
    Problems problems = s.problems();
    for (String key : new String[] {"cert", "key"}) {
      if (!s.has(key)) {
        problems.add(s.line(), s.keyPath(key), "missing: a certificate needs its cert (PEM chain) and key (PEM, PKCS#8) files");
      }
    }
    String certName = s.string("cert", null);
    String keyName = s.string("key", null);
    Path certFile = resolve(s, "cert", certName, source);
    Path keyFile = resolve(s, "key", keyName, source);
    String certPem = read(s, "cert", certName, certFile);
    String keyPem = read(s, "key", keyName, keyFile);
    if (certPem == null || keyPem == null) {
      return null;
    }
    List<X509Certificate> chain = chain(s, "cert", certName, certPem);
    PrivateKey key = key(s, keyName, keyPem);
    if (chain == null || key == null) {
      return null;
    }
    X509Certificate leaf = chain.get(0);
    if (!PemKeys.signsFor(key, leaf)) {
      problems.add(s.keyPath("key"), keyName + " is not the key of the certificate in " + certName);
      return null;
    }
    List<String> names = CertificateNames.of(leaf);
    if (!CertificateNames.hasAltNames(leaf)) {
      // browsers and most HTTP clients have ignored the common name for years (attack s13-4)
      problems.add(s.keyPath("cert"), "the certificate in " + certName + " names its host only in the common name "
          + names + ": clients reject it; it needs the names as DNS subject alternative names");
      return null;
    }
    for (String domain : domains) {
      if (!CertificateNames.covers(names, domain)) {
        problems.add(s.keyPath("cert"), "the certificate in " + certName + " is for " + names
            + ", not for the tenant's domain " + domain);
      }
    }
    return new ServerCertificate(certFile, keyFile, certPem, keyPem);
  }

  private static Path resolve(Section s, String key, String name, String source) {
    if (name == null) {
      return null;
    }
    try {
      return ScriptFiles.baseDir(source, s.problems().inputs).resolve(name).normalize();
    } catch (InvalidPathException e) {
      s.problems().add(s.keyPath(key), "not a path: " + name);
      return null;
    }
  }

  private static String read(Section s, String key, String name, Path file) {
    if (file == null) {
      return null;
    }
    try {
      return new String(s.problems().inputs.read(file, MAX_PEM_FILE), StandardCharsets.ISO_8859_1);
    } catch (ConfigInputs.TooLarge e) {
      s.problems().add(s.keyPath(key), name + " has " + e.size + " bytes, above the limit of 1 MiB for a PEM file");
    } catch (java.nio.file.NoSuchFileException e) {
      s.problems().add(s.keyPath(key), "cannot read " + name + ": no such file");
    } catch (IOException e) {
      // "not a regular file" (a fifo, a device) says more than the class (attack s13-4)
      s.problems().add(s.keyPath(key), "cannot read " + name + ": "
          + (e.getMessage() != null && !e.getMessage().contains(name) ? e.getMessage() : e.getClass().getSimpleName()));
    }
    return null;
  }

  private static List<X509Certificate> chain(Section s, String key, String name, String pem) {
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(
          new ByteArrayInputStream(pem.getBytes(StandardCharsets.ISO_8859_1)))) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        s.problems().add(s.keyPath(key), name + " holds no PEM certificate");
        return null;
      }
      return out;
    } catch (CertificateException e) {
      s.problems().add(s.keyPath(key), name + " is not a PEM certificate chain: " + e.getMessage());
      return null;
    }
  }

  private static final String BEGIN = "-----BEGIN PRIVATE KEY-----";
  private static final String END = "-----END PRIVATE KEY-----";

  private static PrivateKey key(Section s, String name, String pem) {
    int from = pem.indexOf(BEGIN);
    int to = from < 0 ? -1 : pem.indexOf(END, from);
    if (from < 0 || to < 0) {
      if (pem.contains("-----BEGIN CERTIFICATE-----")) {
        s.problems().add(s.keyPath("key"), name + " holds a certificate, not a private key (cert and key swapped?)");
        return null;
      }
      String why = pem.contains("ENCRYPTED PRIVATE KEY") ? "is encrypted (the gateway reads unencrypted keys only)"
          : pem.contains("-----BEGIN RSA PRIVATE KEY-----") || pem.contains("-----BEGIN EC PRIVATE KEY-----")
          ? "is in the older PKCS#1/SEC1 form"
          : "holds no PEM private key";
      s.problems().add(s.keyPath("key"), name + " " + why + ": convert it with"
          + " 'openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW' (BEGIN PRIVATE KEY)");
      return null;
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(pem.substring(from + BEGIN.length(), to));
    } catch (IllegalArgumentException e) {
      s.problems().add(s.keyPath("key"), name + " is not valid PEM: " + e.getMessage());
      return null;
    }
    PrivateKey key = PemKeys.pkcs8(der);
    if (key == null) {
      s.problems().add(s.keyPath("key"), name + " is not an RSA, EC or EdDSA private key");
    }
    return key;
  }


}
