package dev.keystone.model;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The ACME challenges this gateway is answering now. HTTP-01: token to key authorization; the
 * plain listener answers {@code GET /.well-known/acme-challenge/TOKEN} from it, before any
 * tenant's routing. TLS-ALPN-01 (RFC 8737): domain to the self-signed validation certificate,
 * which the TLS listener presents to a handshake for that name that asks for ALPN
 * {@code acme-tls/1}. The ACME client puts an answer here before it asks the CA to validate, and
 * takes it away once the challenge is decided. Bounded: a client has at most one order in flight
 * per domain, and each answer lives for one validation.
 */
public final class AcmeTokens {

  /** At most this many challenges at once (a CA caps an order at 100 names). */
  static final int MAX = 10_000;

  private final Map<String, String> answers = new ConcurrentHashMap<>();
  private final Map<String, AlpnAnswer> alpnAnswers = new ConcurrentHashMap<>();

  /** A TLS-ALPN-01 answer: the validation certificate (with the acmeIdentifier extension) and its key. */
  public record AlpnAnswer(java.security.cert.X509Certificate certificate, java.security.PrivateKey key) {
  }

  /** Presents {@code answer} to {@code acme-tls/1} handshakes for {@code domain} from now on; false when too many are open. */
  public boolean putAlpn(String domain, AlpnAnswer answer) {
    String d = domain.toLowerCase(java.util.Locale.ROOT);
    if (alpnAnswers.size() >= MAX && !alpnAnswers.containsKey(d)) {
      return false;
    }
    alpnAnswers.put(d, answer);
    return true;
  }

  public void removeAlpn(String domain) {
    alpnAnswers.remove(domain.toLowerCase(java.util.Locale.ROOT));
  }

  /** The TLS-ALPN-01 answer for {@code domain} (lower case, as SNI is read), or null. */
  public AlpnAnswer alpn(String domain) {
    return domain == null ? null : alpnAnswers.get(domain);
  }

  /** Answers {@code token} with {@code keyAuthorization} from now on; false when too many are open. */
  public boolean put(String token, String keyAuthorization) {
    if (answers.size() >= MAX && !answers.containsKey(token)) {
      return false;
    }
    answers.put(token, keyAuthorization);
    return true;
  }

  public void remove(String token) {
    answers.remove(token);
  }

  /** The key authorization for {@code token}, or null. */
  public String answer(String token) {
    return answers.get(token);
  }

  public int size() {
    return answers.size();
  }
}
