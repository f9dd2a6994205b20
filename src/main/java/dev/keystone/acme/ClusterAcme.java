package dev.keystone.acme;

import dev.keystone.config.ServerCertificate;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.BiFunction;
import java.util.logging.Logger;

/**
 * The {@link AcmeManager}'s side of a cluster's shared ACME state: which {@link SharedAcme} the
 * config in force names ({@code state_store}), the cluster's account key, and whether a
 * certificate another instance kept can be served in place of ordering one.
 */
final class ClusterAcme implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger("keystone.acme");

  private final BiFunction<String, Consumer<String>, SharedAcme> connect;
  private final Consumer<String> certificateKept;
  private SharedAcme shared; // guarded by this
  /** Since when the store fails, or null while it answers. */
  private volatile Instant failingSince;
  /**
   * How long an instance without a certificate waits for a failing store before it orders alone:
   * a hiccup (a cold start's slow first call, a Redis restart) must not make every instance of a
   * rollout order its own (attack s19-acme F1).
   */
  static final java.time.Duration ALONE_AFTER = java.time.Duration.ofMinutes(2);
  private String url; // guarded by this

  /**
   * @param connect         opens the shared state at a state_store URL, calling the listener it is
   *                        given with the key of each certificate another instance kept (null:
   *                        never shared)
   * @param certificateKept that listener
   */
  ClusterAcme(BiFunction<String, Consumer<String>, SharedAcme> connect, Consumer<String> certificateKept) {
    this.connect = connect;
    this.certificateKept = certificateKept;
  }

  /** Shares through the store at {@code stateStore} from now on (null: each instance alone). */
  synchronized void use(String stateStore) {
    if (Objects.equals(stateStore, url) || connect == null) {
      return;
    }
    SharedAcme old = shared;
    shared = stateStore == null ? null : connect.apply(stateStore, certificateKept);
    url = stateStore;
    if (old != null) {
      old.close();
    }
  }

  /** The shared state in force, or null. */
  synchronized SharedAcme shared() {
    return shared;
  }

  /**
   * The account key: the cluster's when a state store is shared (this instance's own is offered
   * as the cluster's when there is none yet; the cluster's is then kept in the data_dir too), else
   * this instance's. A store that fails leaves this instance's own.
   */
  KeyPair accountKey(AcmeStore store) throws IOException, GeneralSecurityException {
    KeyPair local = store.accountKey();
    SharedAcme sh = shared();
    if (sh == null) {
      return local;
    }
    String ours = AcmeStore.pem(local.getPrivate());
    String kept;
    try {
      kept = sh.accountKey(ours);
    } catch (IOException e) {
      LOG.warning("ACME: the account key could not be read from " + sh.describe() + " (" + e.getMessage()
          + "): this instance's own is used");
      return local;
    }
    if (kept.equals(ours)) {
      return local;
    }
    try {
      PrivateKey k = AcmeStore.privateKey(kept);
      if (!(k instanceof ECPrivateKey ec)) {
        throw new GeneralSecurityException("not an EC key");
      }
      KeyPair pair = new KeyPair(AcmeStore.publicOf(ec), k);
      store.keepAccountKey(kept);
      return pair;
    } catch (GeneralSecurityException | RuntimeException e) {
      // a damaged key in the store must not stop every order of the cluster
      LOG.warning("ACME: the account key in " + sh.describe() + " is not usable (" + e.getMessage()
          + "): this instance's own is used; delete keystone:acme:account to let the cluster share one again");
      return local;
    }
  }

  /**
   * What to do before ordering {@code names}' certificate: serve one another instance kept
   * ({@code adopt}), wait ({@code waitUntil}: another instance orders it, or the cluster waits
   * after a failed order), or order, holding {@code lock} (null: no state store, or it failed and
   * this instance orders alone).
   */
  record Before(ServerCertificate adopt, Instant waitUntil, String lock) {
  }

  /** Decides {@link Before} (on the ACME thread: it waits for the store). */
  Before beforeOrder(AcmeStore store, List<String> names, X509Certificate old, Instant now, boolean forced) {
    SharedAcme sh = shared();
    if (sh == null) {
      return new Before(null, null, null);
    }
    String key = AcmeStore.key(names);
    try {
      ServerCertificate c = adoptable(sh, store, names, old, now);
      failingSince = null;
      if (c != null) {
        return new Before(c, null, null);
      }
      SharedAcme.Lock l = sh.lock(key, forced); // an operator's replacement does not wait out the backoff
      if (l.token() == null) {
        // another instance orders it (its certificate arrives through onCertificate), or the
        // cluster waits after a failed order: no second order at the CA
        long ms = Math.max(1000, Math.min(l.retryInMillis(), AcmeManager.LAST_RETRY.toMillis()));
        LOG.info("ACME: " + names + " is not ordered here for " + (ms / 1000) + " s: another instance orders it, or the"
            + " cluster waits after a failed order (" + sh.describe() + ")");
        return new Before(null, now.plusMillis(ms), null);
      }
      c = adoptable(sh, store, names, old, now); // kept by another between the read and the lock
      if (c != null) {
        sh.unlock(key, l.token(), false, 0, 0, 0);
        return new Before(c, null, null);
      }
      failingSince = null;
      return new Before(null, null, l.token());
    } catch (IOException e) {
      Instant since = failingSince;
      if (since == null) {
        failingSince = since = now;
      }
      if (forced) {
        // an operator's replacement (the old one may be revoked already): not held back
        LOG.warning("ACME: the state store " + sh.describe() + " failed (" + e.getMessage() + "): the replacement of "
            + names + " is ordered by this instance alone");
        return new Before(null, null, null);
      }
      if (old == null && now.isBefore(since.plus(ALONE_AFTER))) {
        LOG.warning("ACME: the state store " + sh.describe() + " failed (" + e.getMessage() + "): " + names
            + " waits for it (ordered alone if it still fails at " + since.plus(ALONE_AFTER) + ")");
        return new Before(null, now.plusSeconds(15), null);
      }
      if (old != null && !urgent(old, now)) {
        LOG.warning("ACME: the state store " + sh.describe() + " failed (" + e.getMessage() + "): the renewal of "
            + names + " waits for it (ordered alone once a sixth of its life is left)");
        return new Before(null, now.plus(AcmeManager.FIRST_RETRY), null);
      }
      LOG.warning("ACME: the state store " + sh.describe() + " failed (" + e.getMessage() + "): " + names
          + " is ordered by this instance alone");
      return new Before(null, null, null);
    }
  }

  /** Takes {@code pem} (chain, then key) out of the store if it is still the one kept for {@code key}. */
  void forget(String key, String pem) {
    SharedAcme sh = shared();
    if (sh == null) {
      return;
    }
    try {
      sh.forgetCertificate(key, pem);
    } catch (IOException e) {
      LOG.warning("ACME: the revoked certificate for " + key + " could not be taken out of " + sh.describe() + " ("
          + e.getMessage() + "): an instance started before its replacement is kept may serve it");
    }
  }

  /** Whether less than a sixth of {@code leaf}'s lifetime is left: renewed alone if the cluster's store fails. */
  static boolean urgent(X509Certificate leaf, Instant now) {
    Instant from = leaf.getNotBefore().toInstant();
    Instant until = leaf.getNotAfter().toInstant();
    return now.isAfter(until.minus(java.time.Duration.between(from, until).dividedBy(6)));
  }

  /** The order holding {@code lock} got {@code pem} (chain, then key): kept for the others, and the lock released. */
  void issued(String key, String lock, String pem, Instant notAfter, Instant now) {
    SharedAcme sh = shared();
    if (sh == null) {
      return;
    }
    try {
      sh.putCertificate(key, pem, Math.max(1, java.time.Duration.between(now, notAfter).toMillis()));
    } catch (IOException e) {
      LOG.warning("ACME: the certificate for " + key + " could not be kept in " + sh.describe() + " (" + e.getMessage()
          + "): the other instances order their own when theirs is due");
    }
    sh.unlock(key, lock, false, 0, 0, 0);
  }

  /** The order holding {@code lock} failed: the cluster's wait in ms (see {@link SharedAcme#unlock}), or -1. */
  long failed(String key, String lock, long firstMs, long maxMs, long atLeastMs) {
    SharedAcme sh = shared();
    return sh == null ? -1 : sh.unlock(key, lock, true, firstMs, maxMs, atLeastMs);
  }

  /** {@link #adoptable(SharedAcme, AcmeStore, List, X509Certificate, Instant)} on the store in force; null when it fails. */
  ServerCertificate adoptable(AcmeStore store, List<String> names, X509Certificate old, Instant now) {
    SharedAcme sh = shared();
    if (sh == null) {
      return null;
    }
    try {
      ServerCertificate c = adoptable(sh, store, names, old, now);
      failingSince = null;
      return c;
    } catch (IOException e) {
      LOG.fine("ACME: the certificate kept by another instance could not be read: " + e.getMessage());
      return null;
    }
  }

  /**
   * The certificate another instance kept for {@code names}, when it can be served instead of
   * ordering: it is a chain for these names with its key, signed by the next certificate of the
   * chain (not self-signed), not due for renewal, and another than {@code old} (null: there is
   * none) issued no earlier (a CA's notBefore has whole seconds: a replacement ordered within the
   * second has the same); it is kept in the data_dir too. Null otherwise. Issued, not expiring,
   * later: a CA that shortens lifetimes still renews everywhere (attack s19-acme F4).
   */
  static ServerCertificate adoptable(SharedAcme sh, AcmeStore store, List<String> names, X509Certificate old, Instant now)
      throws IOException {
    String pem = sh.certificate(AcmeStore.key(names));
    if (pem == null) {
      return null;
    }
    ServerCertificate c = AcmeStore.fromPem(store.file(names), pem);
    if (c == null) {
      return null;
    }
    X509Certificate leaf = AcmeStore.leaf(c.certPem());
    if (!dev.keystone.config.CertificateNames.dnsNames(leaf).containsAll(names) || AcmeManager.due(c, now)
        || now.isBefore(leaf.getNotBefore().toInstant().minusSeconds(300)) || !issuedByItsChain(c.certPem())
        || old != null && (leaf.getSerialNumber().equals(old.getSerialNumber()) || leaf.getNotBefore().before(old.getNotBefore()))) {
      return null;
    }
    try {
      store.keep(names, c.certPem() + c.keyPem());
    } catch (IOException e) {
      LOG.warning("ACME: the certificate for " + names + " from the cluster cannot be kept in the data_dir (" + e + ")");
    }
    return c;
  }

  /** Whether the chain's leaf is signed by the certificate after it (what a CA returns; a planted self-signed one is not). */
  static boolean issuedByItsChain(String chainPem) {
    try {
      List<? extends java.security.cert.Certificate> chain = java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificates(new java.io.ByteArrayInputStream(chainPem.getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
          .stream().toList();
      if (chain.size() < 2) {
        return false;
      }
      X509Certificate leaf = (X509Certificate) chain.get(0);
      X509Certificate issuer = (X509Certificate) chain.get(1);
      if (!leaf.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
        return false;
      }
      leaf.verify(issuer.getPublicKey());
      return true;
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  @Override
  public synchronized void close() {
    if (shared != null) {
      shared.close();
      shared = null;
      url = null;
    }
  }
}
