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
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The {@link AcmeManager}'s side of a cluster's shared ACME state: which {@link SharedAcme} the
 * config in force names ({@code state_store}), the cluster's account key, and whether a
 * certificate another instance kept can be served in place of ordering one.
 */
final class ClusterAcme implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger("keystone.acme");

  private final Function<String, SharedAcme> connect;
  private final Consumer<String> certificateKept;
  private SharedAcme shared; // guarded by this
  private String url; // guarded by this

  /**
   * @param connect         opens the shared state at a state_store URL (null: never shared)
   * @param certificateKept called with the key of a certificate another instance kept
   */
  ClusterAcme(Function<String, SharedAcme> connect, Consumer<String> certificateKept) {
    this.connect = connect;
    this.certificateKept = certificateKept;
  }

  /** Shares through the store at {@code stateStore} from now on (null: each instance alone). */
  synchronized void use(String stateStore) {
    if (Objects.equals(stateStore, url) || connect == null) {
      return;
    }
    SharedAcme old = shared;
    shared = stateStore == null ? null : connect.apply(stateStore);
    url = stateStore;
    if (shared != null) {
      shared.onCertificate(certificateKept);
    }
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
    PrivateKey k = AcmeStore.privateKey(kept);
    if (!(k instanceof ECPrivateKey ec)) {
      throw new GeneralSecurityException("the state store's ACME account key is not an EC key");
    }
    store.keepAccountKey(kept);
    return new KeyPair(AcmeStore.publicOf(ec), k);
  }

  /**
   * The certificate another instance kept for {@code names}, when it can be served instead of
   * ordering: it is a chain for these names with its key, not due for renewal, and it outlives
   * {@code old} (null: there is none). Null otherwise.
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
        || now.isBefore(leaf.getNotBefore().toInstant().minusSeconds(300))
        || old != null && !leaf.getNotAfter().after(old.getNotAfter())) {
      return null;
    }
    return c;
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
