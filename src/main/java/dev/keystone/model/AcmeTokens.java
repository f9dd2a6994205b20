package dev.keystone.model;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The ACME HTTP-01 challenges this gateway is answering now: token to key authorization. The
 * ACME client puts a token here before it asks the CA to validate, and takes it away once the
 * challenge is decided; the plain listener answers {@code GET /.well-known/acme-challenge/TOKEN}
 * from it, before any tenant's routing. Bounded: a client has at most one order in flight per
 * domain, and each token lives for one validation.
 */
public final class AcmeTokens {

  /** At most this many challenges at once (a CA caps an order at 100 names). */
  static final int MAX = 10_000;

  private final Map<String, String> answers = new ConcurrentHashMap<>();

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
