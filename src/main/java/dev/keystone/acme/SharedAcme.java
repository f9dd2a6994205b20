package dev.keystone.acme;

import java.io.IOException;

/**
 * The ACME state a cluster's instances share through the state store ({@code state_store}): the
 * account key, the issued certificates (chain, then key, as the data_dir keeps them) and a lock
 * per set of names, so that one instance orders while the others wait for its certificate. Its
 * calls block (each within a few seconds) and run on the ACME thread only, never on an event
 * loop. A call that fails throws {@link IOException}: the caller falls back to ordering alone
 * (see {@link AcmeManager}).
 */
public interface SharedAcme extends AutoCloseable {

  /** The store's address without its password (for logs). */
  String describe();

  /** Why the store does not answer now, or null when it does. */
  String problem();

  /**
   * The cluster's account key (PKCS#8 PEM): {@code ours} when none was kept yet (it is kept now),
   * else the one kept (which this instance then uses too: one account for the cluster).
   */
  String accountKey(String ours) throws IOException;

  /** The kept certificate for {@code key} ({@link AcmeStore#key}): chain then key, PEM; or null. */
  String certificate(String key) throws IOException;

  /** Keeps {@code pem} as the certificate for {@code key} for {@code ttlMillis} (its life) and tells the other instances. */
  void putCertificate(String key, String pem, long ttlMillis) throws IOException;

  /**
   * The lock for ordering one certificate: {@code token} while this instance holds it, else null
   * and how long to wait ({@code retryInMillis}: another instance's order, or the cluster's
   * backoff after a failed one).
   */
  record Lock(String token, long retryInMillis) {
  }

  /**
   * Takes the lock for ordering {@code key}'s certificate ({@code ignoreBackoff}: also while the
   * cluster waits after a failed order, for an operator's replacement). While held it is kept alive (until
   * {@link #unlock}); an instance that stops answering loses it within two minutes.
   */
  Lock lock(String key, boolean ignoreBackoff) throws IOException;

  /** Takes {@code pem} out of the store if it is still the certificate kept for {@code key} (it was revoked). */
  void forgetCertificate(String key, String pem) throws IOException;

  /**
   * Releases the lock taken with {@code token}. After a failed order the whole cluster waits:
   * {@code firstMs} at first, doubling up to {@code maxMs}, and at least {@code atLeastMs} (what
   * the CA said). Returns that wait in ms (0 after a success; -1 when the store failed).
   */
  long unlock(String key, String token, boolean failed, long firstMs, long maxMs, long atLeastMs);

  @Override
  void close();
}
