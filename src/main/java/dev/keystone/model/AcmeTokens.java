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
  private volatile Replica replica;

  /**
   * Where this gateway's own answers are published for the other instances of a cluster (the
   * state store): the CA may validate through any of them. {@link #put} and {@link #putAlpn}
   * return once the others can answer (or the store failed: then this instance alone answers).
   */
  public interface Replica {
    void put(String token, String keyAuthorization);

    void remove(String token);

    void putAlpn(String domain, AlpnAnswer answer);

    void removeAlpn(String domain);
  }

  /** Publishes this gateway's answers through {@code r} from now on (null: kept here only). */
  public synchronized void replicate(Replica r) {
    replica = r;
  }

  /**
   * Stops publishing through {@code r}, unless another replica took its place already (a reload
   * that changes the state store opens the new one before it closes the old: attack s19-acme F3).
   */
  public synchronized void stopReplicating(Replica r) {
    if (replica == r) {
      replica = null;
    }
  }

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
    Replica r = replica;
    if (r != null) {
      r.putAlpn(d, answer);
    }
    return true;
  }

  public void removeAlpn(String domain) {
    String d = domain.toLowerCase(java.util.Locale.ROOT);
    alpnAnswers.remove(d);
    Replica r = replica;
    if (r != null) {
      r.removeAlpn(d);
    }
  }

  /** Another instance's TLS-ALPN-01 answer (from the state store: not published again); false when too many are open. */
  public boolean applyRemoteAlpn(String domain, AlpnAnswer answer) {
    String d = domain.toLowerCase(java.util.Locale.ROOT);
    if (alpnAnswers.size() >= MAX && !alpnAnswers.containsKey(d)) {
      return false;
    }
    alpnAnswers.put(d, answer);
    return true;
  }

  /** Takes another instance's TLS-ALPN-01 answer away, unless a newer one replaced it. */
  public void removeRemoteAlpn(String domain, AlpnAnswer answer) {
    String d = domain.toLowerCase(java.util.Locale.ROOT);
    if (answer == null) {
      alpnAnswers.remove(d);
    } else {
      alpnAnswers.remove(d, answer);
    }
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
    Replica r = replica;
    if (r != null) {
      r.put(token, keyAuthorization);
    }
    return true;
  }

  public void remove(String token) {
    answers.remove(token);
    Replica r = replica;
    if (r != null) {
      r.remove(token);
    }
  }

  /** Another instance's HTTP-01 answer (from the state store: not published again); false when too many are open. */
  public boolean applyRemote(String token, String keyAuthorization) {
    if (answers.size() >= MAX && !answers.containsKey(token)) {
      return false;
    }
    answers.put(token, keyAuthorization);
    return true;
  }

  /** Takes another instance's HTTP-01 answer away. */
  public void removeRemote(String token) {
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
