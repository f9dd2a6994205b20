package dev.keystone.acme;

import dev.keystone.config.AcmeConfig;
import dev.keystone.config.GatewayConfig;
import dev.keystone.config.ServerCertificate;
import dev.keystone.config.TenantConfig;
import dev.keystone.model.AcmeTokens;

import java.net.URI;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;
import javax.net.ssl.SSLContext;

/**
 * The certificates of tenants with {@code tls: auto}: loaded from the {@code acme.data_dir} where
 * they were kept (so a restart, or a CA that is down, serves them at once), ordered from the CA
 * when missing, and renewed when the CA's renewal information (RFC 9773, asked every six hours)
 * says, else once a third of their lifetime is left. Orders run one at a time on a thread of
 * their own; a failed one is tried again after a backoff that doubles from a minute to six hours,
 * or when the CA's rate limit says. {@link #sync} is called at start, after each reload and every
 * minute.
 */
public final class AcmeManager implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger("keystone.acme");
  static final Duration FIRST_RETRY = Duration.ofMinutes(1);
  static final Duration LAST_RETRY = Duration.ofHours(6);

  private final AcmeTokens tokens;
  private final Runnable changed;
  private final Clock clock;
  private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "keystone-acme");
    t.setDaemon(true);
    return t;
  });
  /** By {@link AcmeStore#key} of the names. */
  private final Map<String, ServerCertificate> issued = new ConcurrentHashMap<>();
  private final Set<String> pending = ConcurrentHashMap.newKeySet();
  /**
   * Keys an operator asked to replace ({@link #replace}): due until a newer certificate is served,
   * and not held back by the cluster's backoff (attack s19-acme F2: a revoked certificate stayed).
   */
  private final Set<String> forced = ConcurrentHashMap.newKeySet();
  /** Keys whose certificate in the cluster's store is to be looked at (one queued at a time). */
  private final Set<String> checking = ConcurrentHashMap.newKeySet();
  /** Keys whose renewal information is being asked for (not orders: they do not hold one back). */
  private final Set<String> asking = ConcurrentHashMap.newKeySet();
  private final Map<String, Instant> retryAt = new ConcurrentHashMap<>();
  private final Map<String, Duration> backoff = new ConcurrentHashMap<>();
  /**
   * By key: how far the challenge list is turned. A failed order turns it one step, so that the
   * next try starts with another challenge (port 80 closed: TLS-ALPN-01; a proxy in front that
   * ends TLS: HTTP-01); what worked stays first for the renewals.
   */
  private final Map<String, Integer> challengeTurn = new ConcurrentHashMap<>();
  /** By key: when the CA's renewal information (RFC 9773) says to renew; absent: the third-of-life rule. */
  private final Map<String, Instant> renewAt = new ConcurrentHashMap<>();
  /** By key: when to ask the CA for renewal information next. */
  private final Map<String, Instant> askRenewalAt = new ConcurrentHashMap<>();
  /** The keys (and names) of the tenants with {@code tls: auto} in the config in force: an order for another is dropped. */
  private volatile Map<String, List<String>> wanted = Map.of();
  /**
   * False until the gateway listens ({@link #holdOrders}): a start that fails (a port taken) must
   * not leave an order at the CA, a lock and a backoff in the cluster behind (attack s19-acme L3).
   */
  private volatile boolean ordering = true;
  /** The acme section in force (null: none). */
  private volatile AcmeConfig acmeInForce;
  /** Cluster mode: the ACME state shared through the state store. */
  private final ClusterAcme cluster;
  /** The CA of {@code tls: local} tenants, in the acme data_dir. */
  private volatile LocalCa local;
  static final Duration RENEWAL_INFO_EVERY = Duration.ofHours(6);
  private final dev.keystone.model.Events events;
  private final java.util.concurrent.atomic.AtomicLong issuedCount = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong failedCount = new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param tokens  where HTTP-01 answers are published for the listeners
   * @param changed called (on the ACME thread) when a certificate was issued: the served table is
   *                rebuilt then
   */
  public AcmeManager(AcmeTokens tokens, Runnable changed, Clock clock, dev.keystone.model.Events events) {
    this(tokens, changed, clock, events, null);
  }

  /**
   * The same in a cluster: {@code sharing} opens the ACME state shared at a {@code state_store}
   * URL, so that one instance orders each certificate and every instance serves it.
   */
  public AcmeManager(AcmeTokens tokens, Runnable changed, Clock clock, dev.keystone.model.Events events,
                     java.util.function.BiFunction<String, java.util.function.Consumer<String>, SharedAcme> sharing) {
    this.cluster = new ClusterAcme(sharing, this::keptElsewhere);
    this.tokens = tokens;
    this.changed = changed;
    this.clock = clock;
    this.events = events;
  }

  /** Orders that ended with a certificate. */
  public long issuedCount() {
    return issuedCount.get();
  }

  /** Orders that failed. */
  public long failedCount() {
    return failedCount.get();
  }

  /** The certificate for {@code t} ({@code tls: auto} or {@code local}), or null while there is none. */
  public ServerCertificate certificate(TenantConfig t) {
    if (t.tls() != null && t.tls().local()) {
      LocalCa ca = local;
      try {
        return ca == null ? null : ca.certificate(t.domains(), clock.instant());
      } catch (Exception e) {
        LOG.warning("local CA: no certificate for " + t.domains() + ": " + e.getMessage());
        return null;
      }
    }
    return issued.get(AcmeStore.key(t.domains()));
  }

  /** The local CA ({@code tls: local}) of the config synced last, or null. */
  public LocalCa localCa() {
    return local;
  }

  /** Loads what is kept and orders what is missing or due, for {@code config}'s tenants. */
  public void sync(GatewayConfig config) {
    AcmeConfig acme = config.tls().acme();
    cluster.use(acme == null ? null : config.stateStore());
    acmeInForce = acme;
    if (acme == null) {
      return;
    }
    AcmeStore store = new AcmeStore(acme.dataDir());
    Instant now = clock.instant();
    if (local == null || !local.dataDir().equals(acme.dataDir())) {
      local = new LocalCa(acme.dataDir());
    }
    boolean localDue = false;
    Map<String, List<String>> keys = new java.util.HashMap<>();
    for (TenantConfig t : config.tenants()) {
      if (t.tls() != null && t.tls().acme()) {
        keys.put(AcmeStore.key(t.domains()), t.domains());
      }
    }
    wanted = keys;
    for (TenantConfig t : config.tenants()) {
      if (t.tls() != null && t.tls().local()) {
        if (local != null && local.issuedFor(t.domains()) && local.due(t.domains(), now)) {
          localDue = true; // the served table is rebuilt below, which issues it again
        }
        continue;
      }
      if (t.tls() == null || !t.tls().acme()) {
        continue;
      }
      String key = AcmeStore.key(t.domains());
      ServerCertificate have = issued.get(key);
      if (have == null) {
        have = store.load(t.domains());
        if (have != null) {
          issued.put(key, have);
        }
      }
      if (pending.contains(key) || !ordering) {
        continue;
      }
      boolean due = have == null || forced.contains(key) || due(have, now) || !now.isBefore(renewAt.getOrDefault(key, Instant.MAX));
      if (due && !now.isBefore(retryAt.getOrDefault(key, Instant.MIN))) {
        pending.add(key);
        List<String> names = t.domains();
        X509Certificate old = have == null ? null : AcmeStore.leaf(have.certPem());
        worker.execute(() -> order(acme, store, names, key, old));
      } else if (!due && cluster.shared() != null && cluster.shared().problem() == null && checking.add(key)) {
        // every minute, the certificate kept in the cluster: an announcement can be missed (a
        // Redis restart, a dropped subscriber) and a replacement must still reach this instance
        worker.execute(() -> {
          checking.remove(key);
          keptElsewhereNow(key);
        });
      }
      if (!due && !pending.contains(key) && !now.isBefore(askRenewalAt.getOrDefault(key, Instant.MIN)) && asking.add(key)) {
        X509Certificate leaf = AcmeStore.leaf(have.certPem());
        askRenewalAt.put(key, now.plus(RENEWAL_INFO_EVERY));
        worker.execute(() -> askRenewal(acme, store, key, leaf));
      }
    }
    if (localDue) {
      worker.execute(changed); // on the ACME thread, as after an issuance
    }
  }

  /** Kept certificates are loaded, but nothing is ordered until {@link #startOrdering}. */
  public void holdOrders() {
    ordering = false;
  }

  /** Orders what {@code config} needs from now on (the gateway listens: the CA can validate). */
  public void startOrdering(GatewayConfig config) {
    ordering = true;
    sync(config);
  }

  /** Whether less than a third of the certificate's lifetime is left. */
  static boolean due(ServerCertificate c, Instant now) {
    X509Certificate leaf = AcmeStore.leaf(c.certPem());
    if (leaf == null) {
      return true;
    }
    Instant from = leaf.getNotBefore().toInstant();
    Instant until = leaf.getNotAfter().toInstant();
    return now.isAfter(until.minus(Duration.between(from, until).dividedBy(3)));
  }

  /**
   * Orders a new certificate for {@code t} now, whatever the time left (an operator's request);
   * with {@code revoke}, the current one is revoked first (reason: key compromise). The current
   * certificate is served until the new one is in place. Returns null when queued, else why not.
   */
  public String replace(GatewayConfig config, TenantConfig t, boolean revoke) {
    AcmeConfig acme = config.tls().acme();
    if (t.tls() != null && t.tls().local()) {
      return "tenant " + t.name() + " has tls: local: the gateway's own CA issues it again when a third of its life is left";
    }
    if (acme == null || t.tls() == null || !t.tls().acme()) {
      return "tenant " + t.name() + " does not have tls: auto (a certificate from files is replaced by writing its files)";
    }
    String key = AcmeStore.key(t.domains());
    if (!pending.add(key)) {
      return "an order for tenant " + t.name() + " is in progress already";
    }
    AcmeStore store = new AcmeStore(acme.dataDir());
    ServerCertificate have = issued.get(key);
    X509Certificate old = have == null ? null : AcmeStore.leaf(have.certPem());
    List<String> names = t.domains();
    retryAt.remove(key);
    forced.add(key);
    worker.execute(() -> {
      if (revoke && old != null) {
        if (!revoke(acme, store, names, old)) {
          forced.remove(key);
          pending.remove(key);
          return;
        }
        cluster.forget(key, have.certPem() + have.keyPem()); // no instance adopts the revoked one
      }
      order(acme, store, names, key, old);
    });
    return null;
  }

  /** Revokes {@code old} at the CA (on the ACME thread); false, with an event, when the CA refuses. */
  private boolean revoke(AcmeConfig acme, AcmeStore store, List<String> names, X509Certificate old) {
    try {
      SSLContext trust = acme.caRoot() == null ? null : AcmeStore.trusting(acme.caRoot());
      new AcmeIssuer(URI.create(acme.directory()), trust, cluster.accountKey(store), acme.email(), tokens).revoke(old);
      LOG.info("ACME: certificate " + old.getSerialNumber().toString(16) + " for " + names + " revoked");
      events.add(new dev.keystone.model.Events.Certificate(clock.instant(), names, false,
          "revoked " + old.getSerialNumber().toString(16) + " (key compromise); a new one is ordered"));
      return true;
    } catch (Exception e) {
      LOG.warning("ACME: could not revoke the certificate for " + names + ": " + e.getMessage());
      events.add(new dev.keystone.model.Events.Certificate(clock.instant(), names, false, "revocation failed: " + e.getMessage()));
      return false;
    }
  }

  /** Asks the CA when to renew (ARI), on the ACME thread; a CA without it, or one that fails, leaves the third-of-life rule. */
  private void askRenewal(AcmeConfig acme, AcmeStore store, String key, X509Certificate leaf) {
    try {
      if (leaf == null || !wanted.containsKey(key)) {
        return;
      }
      SSLContext trust = acme.caRoot() == null ? null : AcmeStore.trusting(acme.caRoot());
      Instant at = new AcmeIssuer(URI.create(acme.directory()), trust, cluster.accountKey(store), acme.email(), tokens)
          .suggestedRenewal(leaf);
      if (at != null) {
        renewAt.put(key, at);
      }
    } catch (Exception e) {
      LOG.fine("ACME: no renewal information from " + acme.directory() + ": " + e);
    } finally {
      asking.remove(key);
    }
  }

  private void order(AcmeConfig acme, AcmeStore store, List<String> names, String key, X509Certificate old) {
    if (!wanted.containsKey(key)) {
      pending.remove(key); // the tenant went (or changed its names) while the order waited
      return;
    }
    ServerCertificate served = issued.get(key); // newer than old when one was adopted since
    X509Certificate servedLeaf = served == null ? null : AcmeStore.leaf(served.certPem());
    if (!forced.contains(key) && servedLeaf != null && (old == null || !servedLeaf.getSerialNumber().equals(old.getSerialNumber()))
        && !due(served, clock.instant())) {
      // A certificate came from the cluster while this order waited (an instance started as
      // another announced one): not due, so an order would only be a duplicate at the CA, and
      // its lock held back an operator's replacement elsewhere (CI: ClusterAcmeTest, the
      // revocation waited 119 s for the lock of this needless order).
      pending.remove(key);
      return;
    }
    ClusterAcme.Before before = cluster.beforeOrder(store, names,
        served == null ? old : AcmeStore.leaf(served.certPem()), clock.instant(), forced.contains(key));
    if (before.adopt() != null || before.waitUntil() != null) {
      if (before.adopt() != null) {
        adopted(names, key, before.adopt());
      } else {
        retryAt.put(key, before.waitUntil());
      }
      pending.remove(key);
      return;
    }
    String heldLock = before.lock(); // null: no state store, or it failed (ordered alone)
    try {
      KeyPair account = cluster.accountKey(store);
      SSLContext trust = acme.caRoot() == null ? null : AcmeStore.trusting(acme.caRoot());
      KeyPair domainKey = AcmeStore.newKey();
      AcmeIssuer.Issued r = new AcmeIssuer(URI.create(acme.directory()), trust, account, acme.email(), tokens)
          .issue(names, domainKey, turned(acme.challenges(), challengeTurn.getOrDefault(key, 0)), old);
      // counted and logged as an event before anything shows it (Redis, the served table): whoever
      // sees the new certificate sees it counted (CI saw both instances serve it with the count 1)
      issuedCount.incrementAndGet();
      events.add(new dev.keystone.model.Events.Certificate(clock.instant(), names, true, "valid until " + r.notAfter()));
      if (heldLock != null) {
        cluster.issued(key, heldLock, r.chainPem() + AcmeStore.pem(domainKey.getPrivate()), r.notAfter(), clock.instant());
        heldLock = null; // released: a failure after this point is not the order's
      }
      try {
        issued.put(key, store.save(names, r.chainPem(), domainKey));
      } catch (java.io.IOException e) {
        // Served from memory all the same: ordering it again at every retry would spend the CA's
        // limit on duplicate certificates (Let's Encrypt: 5 a week) and gain nothing.
        issued.put(key, store.unsaved(names, r.chainPem(), domainKey));
        LOG.warning("ACME: the certificate for " + names + " is served but cannot be kept in " + acme.dataDir() + " ("
            + e + "): a restart orders it again");
      }
      retryAt.remove(key);
      backoff.remove(key);
      renewAt.remove(key);
      askRenewalAt.remove(key);
      forced.remove(key);
      LOG.info("ACME: certificate for " + names + " issued by " + acme.directory() + ", valid until " + r.notAfter());
      changed.run();
    } catch (Exception e) {
      // first, as above: before the cluster's backoff shows the failure
      failedCount.incrementAndGet();
      events.add(new dev.keystone.model.Events.Certificate(clock.instant(), names, false, String.valueOf(e.getMessage())));
      challengeTurn.merge(key, 1, Integer::sum);
      Duration wait = backoff.merge(key, FIRST_RETRY, (a, b) -> a.multipliedBy(2).compareTo(LAST_RETRY) > 0 ? LAST_RETRY
          : a.multipliedBy(2));
      Instant retry = clock.instant().plus(wait);
      if (e instanceof org.shredzone.acme4j.exception.AcmeRateLimitedException limited
          && limited.getRetryAfter().isPresent() && limited.getRetryAfter().get().isAfter(retry)) {
        retry = limited.getRetryAfter().get(); // the CA's rate limit says when: asking earlier only fails again
        wait = Duration.between(clock.instant(), retry);
      }
      if (heldLock != null) {
        long clusterWait = cluster.failed(key, heldLock, FIRST_RETRY.toMillis(), LAST_RETRY.toMillis(),
            Math.max(0, Duration.between(clock.instant(), retry).toMillis()));
        if (clusterWait > 0) { // the cluster's backoff: every instance waits as long
          wait = Duration.ofMillis(clusterWait);
          retry = clock.instant().plus(wait);
        }
      }
      retryAt.put(key, retry);
      LOG.warning("ACME: no certificate for " + names + " from " + acme.directory() + ": " + e.getMessage()
          + "; trying again in " + wait.toMinutes() + " min" + (issued.containsKey(key) ? " (the current one is served until then)" : ""));
    } finally {
      pending.remove(key);
    }
  }

  /** {@code list} turned left {@code by} places. */
  static List<String> turned(List<String> list, int by) {
    int n = list.size();
    java.util.ArrayList<String> out = new java.util.ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(list.get((i + by) % n));
    }
    return out;
  }

  /** Why the cluster's shared ACME state does not answer, or null (also when there is none). */
  public String sharedProblem() {
    SharedAcme sh = cluster.shared();
    return sh == null ? null : sh.problem();
  }

  /** Orders in progress or queued (tests, the admin API). */
  public int pending() {
    return pending.size();
  }

  /** Serves {@code c}, a certificate another instance of the cluster ordered (on the ACME thread). */
  private void adopted(List<String> names, String key, ServerCertificate c) {
    issued.put(key, c);
    retryAt.remove(key);
    backoff.remove(key);
    renewAt.remove(key);
    askRenewalAt.remove(key);
    forced.remove(key);
    Instant until = AcmeStore.leaf(c.certPem()).getNotAfter().toInstant();
    LOG.info("ACME: certificate for " + names + " from the cluster (another instance ordered it), valid until " + until);
    events.add(new dev.keystone.model.Events.Certificate(clock.instant(), names, true,
        "from the cluster's state store, valid until " + until));
    changed.run();
  }

  /** Another instance kept the certificate for {@code key}: served here too if it is better. */
  private void keptElsewhere(String key) {
    try {
      worker.execute(() -> keptElsewhereNow(key));
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // stopping
    }
  }

  /** Serves the certificate the cluster keeps for {@code key} if it is better than this instance's (on the ACME thread). */
  private void keptElsewhereNow(String key) {
    List<String> names = wanted.get(key);
    AcmeConfig acme = acmeInForce;
    if (names == null || acme == null || pending.contains(key)) {
      return; // gone, or an order of this instance's is queued: it reads the kept certificate first
    }
    ServerCertificate have = issued.get(key);
    ServerCertificate c = cluster.adoptable(new AcmeStore(acme.dataDir()), names,
        have == null ? null : AcmeStore.leaf(have.certPem()), clock.instant());
    if (c != null) {
      adopted(names, key, c);
    }
  }

  @Override
  public void close() {
    worker.shutdownNow();
    cluster.close();
  }
}
