package dev.keystone.acme;

import dev.keystone.model.AcmeTokens;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.challenge.TlsAlpn01Challenge;
import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * Obtains a certificate from an ACME CA (RFC 8555) with acme4j: the account (made or found by its
 * key), an order for the names, each authorization's challenge answered through {@link AcmeTokens}
 * (HTTP-01 by the plain listener, TLS-ALPN-01 by the TLS listener), the CSR for the certificate's
 * own key, and the chain.
 * Blocking: run it on a worker, never on an event loop.
 */
public final class AcmeIssuer {

  /** How long one challenge or the order may take at the CA before the issuance fails. */
  static final Duration WAIT = Duration.ofSeconds(90);

  private final URI directory;
  private final SSLContext trust;
  private final KeyPair accountKey;
  private final String email;
  private final AcmeTokens tokens;
  private final Duration exchangeDeadline;

  /**
   * @param directory  the CA's directory URL
   * @param trust      the TLS trust for talking to the CA; null: the JDK's trusted CAs
   * @param accountKey the ACME account's key pair (the account is found again by it)
   * @param email      the account's contact, or null
   * @param tokens     where HTTP-01 answers are published for the plain listener
   */
  public AcmeIssuer(URI directory, SSLContext trust, KeyPair accountKey, String email, AcmeTokens tokens) {
    this(directory, trust, accountKey, email, tokens, BoundedHttp.DEADLINE);
  }

  /** The same with another deadline for each exchange with the CA (tests). */
  AcmeIssuer(URI directory, SSLContext trust, KeyPair accountKey, String email, AcmeTokens tokens, Duration exchangeDeadline) {
    this.exchangeDeadline = exchangeDeadline;
    this.directory = directory;
    this.trust = trust;
    this.accountKey = accountKey;
    this.email = email;
    this.tokens = tokens;
  }

  /** A certificate chain as issued: PEM, the leaf first, and when it expires. */
  public record Issued(String chainPem, Instant notAfter) {
  }

  /**
   * Issues a certificate for {@code domains} whose key is {@code domainKey}.
   *
   * @throws AcmeException with the CA's reason when an authorization or the order fails
   */
  public Issued issue(List<String> domains, KeyPair domainKey) throws AcmeException, InterruptedException {
    return issue(domains, domainKey, List.of(dev.keystone.config.AcmeConfig.HTTP_01));
  }

  /**
   * The same, answering the first of {@code challenges} the CA offers for each name
   * ({@code http-01}, {@code tls-alpn-01}).
   */
  public Issued issue(List<String> domains, KeyPair domainKey, List<String> challenges)
      throws AcmeException, InterruptedException {
    return issue(domains, domainKey, challenges, null);
  }

  /**
   * The same, replacing {@code old} (RFC 9773: a CA that offers renewal information then knows
   * the order renews it, and may exempt it from its limits); null: a first certificate.
   */
  public Issued issue(List<String> domains, KeyPair domainKey, List<String> challenges,
                      java.security.cert.X509Certificate old) throws AcmeException, InterruptedException {
    Session session = session();
    AccountBuilder ab = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey);
    if (email != null) {
      ab.addEmail(email);
    }
    Account account = ab.create(session); // an existing account for this key is found, not duplicated
    var builder = account.newOrder().domains(domains);
    if (old != null && offersRenewalInfo(session)) {
      builder.replaces(old);
    }
    Order order = builder.create();
    for (Authorization auth : order.getAuthorizations()) {
      if (auth.getStatus() != Status.VALID) {
        authorize(auth, challenges);
      }
    }
    order.execute(domainKey);
    Status s = order.waitForCompletion(WAIT);
    if (s != Status.VALID) {
      throw new AcmeException("the order for " + domains + " ended " + s
          + order.getError().map(p -> ": " + p).orElse(""));
    }
    StringWriter pem = new StringWriter();
    try {
      order.getCertificate().writeCertificate(pem);
    } catch (java.io.IOException e) {
      throw new AcmeException("could not write the certificate: " + e.getMessage(), e);
    }
    java.security.cert.X509Certificate leaf = order.getCertificate().getCertificate();
    check(leaf, domains, domainKey, Instant.now());
    return new Issued(pem.toString(), leaf.getNotAfter().toInstant());
  }

  private Session session() {
    return new Session(directory, new Provider(trust, exchangeDeadline));
  }

  private static boolean offersRenewalInfo(Session session) throws AcmeException {
    return session.resourceUrlOptional(org.shredzone.acme4j.connector.Resource.RENEWAL_INFO).isPresent();
  }

  /** Revokes {@code leaf} (issued to this account) for key compromise. */
  public void revoke(java.security.cert.X509Certificate leaf) throws AcmeException {
    org.shredzone.acme4j.Login login = new AccountBuilder().onlyExisting().useKeyPair(accountKey).createLogin(session());
    org.shredzone.acme4j.Certificate.revoke(login, leaf, org.shredzone.acme4j.RevocationReason.KEY_COMPROMISE);
  }

  /**
   * When the CA suggests {@code leaf} be renewed (ACME Renewal Information, RFC 9773): a time
   * picked at random in its window, so that many gateways do not renew at once; null when the CA
   * offers no renewal information.
   */
  public Instant suggestedRenewal(java.security.cert.X509Certificate leaf) throws AcmeException {
    Session session = session();
    if (!offersRenewalInfo(session)) {
      return null;
    }
    org.shredzone.acme4j.Login login = new AccountBuilder().onlyExisting().useKeyPair(accountKey).createLogin(session);
    org.shredzone.acme4j.RenewalInfo info = login.bindRenewalInfo(leaf);
    Instant start = info.getSuggestedWindowStart();
    Instant end = info.getSuggestedWindowEnd();
    long span = Math.max(0, Duration.between(start, end).toSeconds());
    return start.plusSeconds(span == 0 ? 0 : java.util.concurrent.ThreadLocalRandom.current().nextLong(span));
  }

  /**
   * What the CA returned is what was ordered: the leaf is for the certificate's own key, names
   * every domain, and is valid now; else the order fails and nothing is kept or served (attack
   * s13b-4: a chain for another key, other names, or outside its validity replaced a working one).
   */
  static void check(java.security.cert.X509Certificate leaf, List<String> domains, KeyPair key, Instant now)
      throws AcmeException {
    if (!leaf.getPublicKey().equals(key.getPublic())) {
      throw new AcmeException("the CA returned a certificate for another key");
    }
    List<String> names = dev.keystone.config.CertificateNames.dnsNames(leaf);
    for (String d : domains) {
      if (!names.contains(d)) {
        throw new AcmeException("the CA returned a certificate for " + names + ", not for " + d);
      }
    }
    if (now.isBefore(leaf.getNotBefore().toInstant().minus(Duration.ofMinutes(5)))
        || !now.isBefore(leaf.getNotAfter().toInstant())) {
      throw new AcmeException("the CA returned a certificate valid from " + leaf.getNotBefore().toInstant() + " to "
          + leaf.getNotAfter().toInstant() + ", not now");
    }
  }

  private void authorize(Authorization auth, List<String> challenges) throws AcmeException, InterruptedException {
    String domain = auth.getIdentifier().getDomain();
    for (String type : challenges) {
      if (dev.keystone.config.AcmeConfig.TLS_ALPN_01.equals(type)) {
        var alpn = auth.findChallenge(TlsAlpn01Challenge.class);
        if (alpn.isPresent()) {
          answerTlsAlpn(domain, alpn.get());
          return;
        }
      } else {
        var http = auth.findChallenge(Http01Challenge.class);
        if (http.isPresent()) {
          answerHttp(domain, http.get());
          return;
        }
      }
    }
    throw new AcmeException("the CA offers none of " + challenges + " for " + domain + (auth.isWildcard()
        ? " (a wildcard name needs dns-01, which the gateway does not answer: give its certificate as files)" : ""));
  }

  private void answerHttp(String domain, Http01Challenge challenge) throws AcmeException, InterruptedException {
    if (!tokens.put(challenge.getToken(), challenge.getAuthorization())) {
      throw new AcmeException("too many ACME challenges open at once");
    }
    try {
      await(challenge, domain, "over http-01 (it fetches http://" + domain + "/.well-known/acme-challenge/... on port 80)");
    } finally {
      tokens.remove(challenge.getToken());
    }
  }

  /** RFC 8737: a self-signed certificate for the name, with the challenge's digest in its acmeIdentifier extension. */
  private void answerTlsAlpn(String domain, TlsAlpn01Challenge challenge) throws AcmeException, InterruptedException {
    KeyPair key;
    try {
      key = AcmeStore.newKey();
    } catch (java.security.GeneralSecurityException e) {
      throw new AcmeException("could not make a key for the tls-alpn-01 certificate: " + e.getMessage(), e);
    }
    java.security.cert.X509Certificate cert = validationCertificate(domain, key, challenge.getAcmeValidation());
    if (!tokens.putAlpn(domain, new AcmeTokens.AlpnAnswer(cert, key.getPrivate()))) {
      throw new AcmeException("too many ACME challenges open at once");
    }
    try {
      await(challenge, domain, "over tls-alpn-01 (it connects to " + domain + " on port 443 asking for ALPN acme-tls/1)");
    } finally {
      tokens.removeAlpn(domain);
    }
  }

  /**
   * The self-signed TLS-ALPN-01 certificate for {@code domain}: its only name, and the challenge's
   * digest in the critical acmeIdentifier extension. (acme4j's own helper signs EC keys as RSA.)
   */
  static java.security.cert.X509Certificate validationCertificate(String domain, KeyPair key, byte[] validation)
      throws AcmeException {
    try {
      org.bouncycastle.asn1.x500.X500Name name = new org.bouncycastle.asn1.x500.X500Name("CN=acme-tls-alpn-01");
      Instant now = Instant.now();
      var builder = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(name,
          java.math.BigInteger.valueOf(now.toEpochMilli()), java.util.Date.from(now.minus(Duration.ofHours(1))),
          java.util.Date.from(now.plus(Duration.ofDays(7))), name, key.getPublic());
      builder.addExtension(org.bouncycastle.asn1.x509.Extension.subjectAlternativeName, false,
          new org.bouncycastle.asn1.x509.GeneralNames(new org.bouncycastle.asn1.x509.GeneralName(
              org.bouncycastle.asn1.x509.GeneralName.dNSName, domain)));
      builder.addExtension(new org.bouncycastle.asn1.ASN1ObjectIdentifier(TlsAlpn01Challenge.ACME_VALIDATION_OID), true,
          new org.bouncycastle.asn1.DEROctetString(validation));
      var signer = new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate());
      return new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (Exception e) {
      throw new AcmeException("could not make the tls-alpn-01 certificate for " + domain + ": " + e.getMessage(), e);
    }
  }

  private static void await(org.shredzone.acme4j.challenge.Challenge challenge, String domain, String how)
      throws AcmeException, InterruptedException {
    challenge.trigger();
    Status s = challenge.waitForCompletion(WAIT);
    if (s != Status.VALID) {
      throw new AcmeException("the CA could not validate " + domain + " " + how + challenge.getError().map(p -> ": " + p).orElse(""));
    }
  }

  /** Any ACME server by its URL, talked to with {@code trust} (a private CA's root) when given. */
  private static final class Provider extends GenericAcmeProvider {

    private final SSLContext trust;
    private final Duration deadline;

    Provider(SSLContext trust, Duration deadline) {
      this.trust = trust;
      this.deadline = deadline;
    }

    @Override
    protected HttpConnector createHttpConnector(NetworkSettings settings) {
      return new HttpConnector(settings) {
        @Override
        public HttpClient.Builder createClientBuilder() {
          HttpClient.Builder b = super.createClientBuilder();
          return BoundedHttp.wrap(trust == null ? b : b.sslContext(trust), deadline, BoundedHttp.MAX_BODY);
        }
      };
    }
  }
}
