package dev.keystone.acme;

import dev.keystone.model.AcmeTokens;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Http01Challenge;
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
 * key), an order for the names, each authorization's HTTP-01 challenge answered by the gateway's
 * plain listener through {@link AcmeTokens}, the CSR for the certificate's own key, and the chain.
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
    Session session = new Session(directory, new Provider(trust, exchangeDeadline));
    AccountBuilder ab = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey);
    if (email != null) {
      ab.addEmail(email);
    }
    Account account = ab.create(session); // an existing account for this key is found, not duplicated
    Order order = account.newOrder().domains(domains).create();
    for (Authorization auth : order.getAuthorizations()) {
      if (auth.getStatus() != Status.VALID) {
        authorize(auth);
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

  private void authorize(Authorization auth) throws AcmeException, InterruptedException {
    String domain = auth.getIdentifier().getDomain();
    Http01Challenge challenge = auth.findChallenge(Http01Challenge.class).orElseThrow(() -> new AcmeException(
        "the CA offers no http-01 challenge for " + domain + (auth.isWildcard()
            ? " (a wildcard name needs dns-01, which the gateway does not answer: give its certificate as files)" : "")));
    if (!tokens.put(challenge.getToken(), challenge.getAuthorization())) {
      throw new AcmeException("too many ACME challenges open at once");
    }
    try {
      challenge.trigger();
      Status s = challenge.waitForCompletion(WAIT);
      if (s != Status.VALID) {
        throw new AcmeException("the CA could not validate " + domain + " over http-01 (it fetches http://" + domain
            + "/.well-known/acme-challenge/... on port 80)" + challenge.getError().map(p -> ": " + p).orElse(""));
      }
    } finally {
      tokens.remove(challenge.getToken());
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
