package dev.keystone.tls;

import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * OCSP stapling: for each served certificate whose issuer is in its chain and which names an
 * OCSP responder (its Authority Information Access), the responder's signed answer is fetched,
 * checked (a good status for this certificate, signed by the issuer or a responder it
 * delegated to, current) and handed to every handshake that asks for it, so that clients need
 * not ask the CA themselves. Fetched off the event loops ({@link #refresh}, every minute with the
 * ACME sync), again halfway to the answer's next update; an answer that can no longer be fetched
 * is stapled until it expires, then not at all (a client then asks the CA, or does without).
 * Only with BoringSSL: the JDK engine staples nothing here.
 */
public final class OcspStaples {

  private static final Logger LOG = Logger.getLogger("keystone.tls");
  /** A responder's answer is a few KiB; more is not an answer. */
  static final int MAX_RESPONSE = 64 * 1024;
  /** When an answer has no next update, it is fetched again after this. */
  static final Duration NO_NEXT_UPDATE = Duration.ofHours(1);
  /** After a failed fetch, the next try. */
  static final Duration RETRY = Duration.ofMinutes(5);

  private record Staple(byte[] der, Instant expires, Instant refreshAt) {
  }

  private final Map<java.math.BigInteger, Staple> staples = new ConcurrentHashMap<>();
  private final Map<java.math.BigInteger, Instant> retryAt = new ConcurrentHashMap<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
      .followRedirects(HttpClient.Redirect.NEVER).build();

  /** The answer to staple for {@code leaf} now, or null. */
  public byte[] staple(X509Certificate leaf) {
    Staple s = staples.get(leaf.getSerialNumber());
    return s == null || !Instant.now().isBefore(s.expires()) ? null : s.der();
  }

  /** Fetches what is missing or due for {@code certificates}' chains (blocking: a worker thread). */
  public void refresh(ServerCertificates certificates) {
    Instant now = Instant.now();
    java.util.Set<java.math.BigInteger> serving = new java.util.HashSet<>();
    for (X509Certificate[] chain : certificates.chains()) {
      if (chain.length < 2) {
        continue; // no issuer in the chain: nothing to ask about (or verify an answer with)
      }
      X509Certificate leaf = chain[0];
      serving.add(leaf.getSerialNumber());
      Staple s = staples.get(leaf.getSerialNumber());
      if ((s != null && now.isBefore(s.refreshAt())) || now.isBefore(retryAt.getOrDefault(leaf.getSerialNumber(), Instant.MIN))) {
        continue;
      }
      String url = responder(leaf);
      if (url == null) {
        continue;
      }
      try {
        staples.put(leaf.getSerialNumber(), fetch(url, leaf, chain[1], now));
        retryAt.remove(leaf.getSerialNumber());
      } catch (Exception e) {
        retryAt.put(leaf.getSerialNumber(), now.plus(RETRY));
        LOG.warning("OCSP: no answer to staple for " + leaf.getSubjectX500Principal().getName() + " from " + url + ": "
            + e.getMessage() + (s != null ? " (the last one is stapled until it expires)" : ""));
      }
    }
    staples.keySet().retainAll(serving);
    retryAt.keySet().retainAll(serving);
  }

  /** The OCSP responder's URL in {@code cert}'s Authority Information Access, or null. */
  static String responder(X509Certificate cert) {
    try {
      byte[] ext = cert.getExtensionValue(Extension.authorityInfoAccess.getId());
      if (ext == null) {
        return null;
      }
      AuthorityInformationAccess aia = AuthorityInformationAccess.getInstance(
          org.bouncycastle.asn1.ASN1OctetString.getInstance(ext).getOctets());
      for (AccessDescription d : aia.getAccessDescriptions()) {
        if (d.getAccessMethod().equals(AccessDescription.id_ad_ocsp)
            && d.getAccessLocation().getTagNo() == GeneralName.uniformResourceIdentifier) {
          String url = d.getAccessLocation().getName().toString();
          return url.startsWith("http://") || url.startsWith("https://") ? url : null;
        }
      }
    } catch (RuntimeException e) {
      return null;
    }
    return null;
  }

  private Staple fetch(String url, X509Certificate leaf, X509Certificate issuer, Instant now) throws Exception {
    CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
        new JcaX509CertificateHolder(issuer), leaf.getSerialNumber());
    byte[] request = new OCSPReqBuilder().addRequest(id).build().getEncoded();
    HttpResponse<java.io.InputStream> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/ocsp-request").POST(HttpRequest.BodyPublishers.ofByteArray(request)).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    byte[] der;
    try (java.io.InputStream in = r.body()) {
      der = in.readNBytes(MAX_RESPONSE + 1);
    }
    if (r.statusCode() != 200 || der.length > MAX_RESPONSE) {
      throw new IllegalStateException("HTTP " + r.statusCode() + (der.length > MAX_RESPONSE ? ", more than 64 KiB" : ""));
    }
    OCSPResp resp = new OCSPResp(der);
    if (resp.getStatus() != OCSPResp.SUCCESSFUL || !(resp.getResponseObject() instanceof BasicOCSPResp basic)) {
      throw new IllegalStateException("the responder answered status " + resp.getStatus());
    }
    if (!signedByIssuerOrDelegate(basic, issuer)) {
      throw new IllegalStateException("the answer is not signed by the issuer or a responder it delegated to");
    }
    for (SingleResp single : basic.getResponses()) {
      if (!single.getCertID().equals(id)) {
        continue;
      }
      if (single.getCertStatus() != null) {
        throw new IllegalStateException("the certificate is not good (revoked or unknown)");
      }
      Instant thisUpdate = single.getThisUpdate().toInstant();
      Instant next = single.getNextUpdate() == null ? null : single.getNextUpdate().toInstant();
      if (now.plus(Duration.ofMinutes(5)).isBefore(thisUpdate) || (next != null && !now.isBefore(next))) {
        throw new IllegalStateException("the answer is not current (" + thisUpdate + " to " + next + ")");
      }
      Instant expires = next != null ? next : now.plus(NO_NEXT_UPDATE);
      Instant refreshAt = next != null ? now.plus(Duration.between(now, next).dividedBy(2)) : expires;
      return new Staple(der, expires, refreshAt);
    }
    throw new IllegalStateException("the answer does not cover the certificate");
  }

  private static boolean signedByIssuerOrDelegate(BasicOCSPResp basic, X509Certificate issuer) throws Exception {
    var verifier = new JcaContentVerifierProviderBuilder();
    if (basic.isSignatureValid(verifier.build(issuer.getPublicKey()))) {
      return true;
    }
    for (X509CertificateHolder responder : basic.getCerts()) {
      boolean delegated = responder.isSignatureValid(verifier.build(issuer.getPublicKey()))
          && responder.getExtensions() != null
          && org.bouncycastle.asn1.x509.ExtendedKeyUsage.fromExtensions(responder.getExtensions()) != null
          && org.bouncycastle.asn1.x509.ExtendedKeyUsage.fromExtensions(responder.getExtensions())
              .hasKeyPurposeId(org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_OCSPSigning);
      if (delegated && basic.isSignatureValid(verifier.build(responder))) {
        return true;
      }
    }
    return false;
  }
}
