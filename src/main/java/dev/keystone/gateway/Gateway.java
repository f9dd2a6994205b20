package dev.keystone.gateway;

import dev.keystone.model.Backend;
import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;
import dev.keystone.model.Events;
import dev.keystone.model.ReloadResult;
import dev.keystone.model.DrainResult;


import dev.keystone.admin.AdminServer;
import dev.keystone.admin.CompatEndpoints;
import dev.keystone.admin.GatewayControl;
import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.config.GatewayConfig;
import dev.keystone.config.SnapshotCompiler;
import dev.keystone.config.ListenAddress;
import dev.keystone.engine.EngineSupervisor;
import dev.keystone.metrics.Metrics;
import dev.keystone.proxy.ProxyServer;
import dev.keystone.proxy.TlsHandshake;
import dev.keystone.tls.ServerCertificates;
import dev.keystone.model.AcmeTokens;
import dev.keystone.acme.AcmeManager;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.upstream.HealthChecker;
import dev.keystone.model.HealthRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The running gateway: Vert.x, one {@link ProxyServer} per event loop, health checks, and the
 * current {@link Snapshot}. A reload validates the new config first, then swaps the snapshot
 * atomically; requests already running finish on the one they started with.
 */
public final class Gateway implements GatewayControl {

  private static final Logger LOG = Logger.getLogger("keystone.gateway");

  private final Vertx vertx;
  private final Path configFile; // null for a config that did not come from a file
  private final ConfigLoader loader;
  private final Clock clock;
  private final HealthRegistry registry;
  /** Tenants' canary shares (rollouts), kept by tenant name across reloads. */
  private final dev.keystone.model.TrafficSplits splits = new dev.keystone.model.TrafficSplits();
  private final HealthChecker checker;
  /** The config being served and the snapshot compiled from it, swapped together. */
  private record Served(GatewayConfig config, Snapshot snapshot) {
  }

  private final AtomicReference<Served> current = new AtomicReference<>();
  private final List<ProxyServer> servers = new CopyOnWriteArrayList<>();
  private final long startNanos = System.nanoTime();
  private final Metrics metrics = new Metrics();
  private final Events events = new Events();
  private final String version;
  private final boolean adminListenGiven; // --admin: the file's admin.listen does not apply
  private final java.time.Instant startedAt;
  private volatile boolean stopping;
  private volatile boolean listening;
  private volatile AdminServer admin;
  private final ConfigWatcher watcher;
  private final CertificateWatcher certificateWatcher;
  /** Shared by the scripts of all event loops; kept across reloads (key/value stores). */
  private final ScriptEnvironment scripts;
  private final EngineSlot engine; // lua_engine.supervise: the engine this gateway runs
  /** The certificates the TLS listener serves, replaced by a reload (read at each handshake). */
  private volatile ServerCertificates certificates = ServerCertificates.NONE;
  /** The ACME HTTP-01 challenges answered on the listeners now. */
  private final AcmeTokens acmeTokens = new AcmeTokens();
  /** OCSP answers stapled to handshakes (BoringSSL only). */
  private final dev.keystone.tls.OcspStaples staples = new dev.keystone.tls.OcspStaples();
  /** The certificates of tls: auto tenants (ordered, kept, renewed); rebuilds the table when one is issued. */
  private final AcmeManager acme;
  private final long acmeTimer;
  private final dev.keystone.rollout.Rollouts rollouts;
  private final long rolloutTimer;
  /** The TLS listener's handshakes (counted for the metrics), or null without one. */
  private volatile TlsHandshake handshakes;

  /** Rate-limit counts, JWT checks, API keys and the state store: kept across reloads. */
  private final PolicyRuntime policies;

  /** Cluster mode: the store this gateway follows (null: a file or the embedded default). */
  private final StoreFollower store;
  /** The name a stored config's errors carry (set before the follower can apply anything). */
  private final String storeSource;

  private Gateway(Vertx vertx, GatewayConfig config, Path configFile, byte[] loaded, ConfigLoader loader,
                  GatewayOptions options, StoreStart storeStart) throws IOException {
    this.vertx = vertx;
    this.configFile = configFile;
    this.loader = loader;
    this.clock = options.clock();
    this.registry = new HealthRegistry(clock);
    this.policies = new PolicyRuntime(vertx, clock, options.scripts());
    this.scripts = options.scripts();
    this.version = options.version();
    this.adminListenGiven = options.adminListenGiven();
    this.startedAt = clock.instant();
    this.checker = new HealthChecker(vertx, clock);
    this.engine = new EngineSlot(vertx);
    this.acme = new AcmeManager(acmeTokens, this::certificatesIssued, clock, events,
        (url, kept) -> new dev.keystone.state.RedisAcme(new dev.keystone.state.RedisStore(vertx, url,
            dev.keystone.state.RedisAcme.STORE_TIMEOUT_MS), acmeTokens, kept));
    acme.holdOrders(); // until listening: a start that fails orders nothing
    acme.sync(config); // kept certificates are served from the start, even with the CA down
    try {
      certificates = ServerCertificates.compile(config, null, acme::certificate);
    } catch (IllegalArgumentException e) {
      acme.close();
      throw new IOException(e.getMessage(), e);
    }
    // every minute: renewals due, retries after a backoff (each a map lookup until one is due)
    this.acmeTimer = vertx.setPeriodic(60_000, id -> vertx.executeBlocking(() -> {
      acme.sync(current.get().config());
      staples.refresh(certificates); // OCSP answers missing or due (a worker: it waits on responders)
      return null;
    }, false));
    EngineSlot.Change first = engine.prepare(config);
    apply(first.config(), 1);
    certificatesIssued(); // one the ACME thread issued before the config was applied
    engine.commit(first);
    events.add(new Events.Reload(clock.instant(), true, 1, "startup", List.of()));
    this.rollouts = new dev.keystone.rollout.Rollouts(splits, metrics, events, () -> current.get().snapshot(),
        RolloutFiles.of(config, configFile), clock);
    rollouts.load().forEach(LOG::warning);
    // every second: each live rollout judged on the metrics (a worker: a change writes its file)
    this.rolloutTimer = vertx.setPeriodic(1000, id -> vertx.executeBlocking(() -> {
      rollouts.tick();
      return null;
    }, true));
    this.watcher = configFile == null ? null : new ConfigWatcher(vertx, configFile, loaded, () -> reloadFromFile("file"));
    this.certificateWatcher = configFile == null && storeStart == null ? null
        : new CertificateWatcher(vertx, () -> current.get().config(), () -> reloadFromFile("certificate"));
    this.storeSource = storeStart == null ? null : StoreStart.sourceName(storeStart.url());
    this.store = storeStart == null ? null : new StoreFollower(vertx, storeStart, new StoreFollower.Target() {
      @Override
      public ReloadResult applyStored(String yaml, String trigger, java.util.function.Consumer<Snapshot> beforeServed) {
        return Gateway.this.applyStored(yaml, trigger, beforeServed);
      }

      @Override
      public void drainStoredIn(Snapshot s, String tenant, String backend, boolean on) {
        Drains.apply(s, backend, tenant, on, clock.instant(), events);
      }

      @Override
      public void drainStored(String tenant, String backend, boolean on) {
        Drains.apply(current.get().snapshot(), backend, tenant, on, clock.instant(), events);
      }

      @Override
      public io.vertx.core.json.JsonObject describe() {
        return describeInstance();
      }

      @Override
      public void apiKeys(dev.keystone.model.ApiKeyTable keys) {
        policies.storeKeys(keys);
      }
    }, clock);
    if (storeStart != null && storeStart.warning() != null) {
      LOG.warning(storeStart.warning());
    }
  }

  /**
   * Starts a gateway on {@code config}; {@code configFile} (may be null) is watched and re-read on
   * reload. The returned future completes once every event loop is listening.
   */
  public static Future<Gateway> start(GatewayConfig config, Path configFile, ConfigLoader loader, GatewayOptions options) {
    return start(newVertx(options.eventLoops()), config, configFile, loader, options);
  }

  /**
   * The Vert.x (and Netty event loops) a gateway with {@code eventLoops} loops runs on. Made apart
   * so that the command line can make it while it reads the config: it takes 0.1-0.2 s (the
   * native transport, the resolver), as long as reading a small config or longer.
   */
  public static Vertx newVertx(int eventLoops) {
    return Vertx.vertx(new VertxOptions()
        .setEventLoopPoolSize(eventLoops)
        .setPreferNativeTransport(true));
  }

  /** {@link #start(GatewayConfig, Path, ConfigLoader, GatewayOptions)} on {@code vertx} (from {@link #newVertx}), which the gateway then owns. */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, Path configFile, ConfigLoader loader, GatewayOptions options) {
    return start(vertx, config, configFile, null, loader, options);
  }

  /**
   * {@link #start(Vertx, GatewayConfig, Path, ConfigLoader, GatewayOptions)} with the bytes
   * {@code config} was parsed from, so that the file watcher compares against them (and a change
   * made while the gateway started is reloaded).
   */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, Path configFile, byte[] loaded, ConfigLoader loader,
                                      GatewayOptions options) {
    return start(vertx, config, configFile, loaded, loader, options, null);
  }

  /**
   * Cluster mode: a gateway on the config {@code start} read from its store (or its cache), which
   * then follows the store: every change validated and applied as a file reload is.
   */
  public static Future<Gateway> start(Vertx vertx, StoreStart start, ConfigLoader loader, GatewayOptions options) {
    return start(vertx, start.config(), null, null, loader, options, start);
  }

  private static Future<Gateway> start(Vertx vertx, GatewayConfig config, Path configFile, byte[] loaded, ConfigLoader loader,
                                       GatewayOptions options, StoreStart storeStart) {
    Gateway g;
    try {
      g = new Gateway(vertx, config, configFile, loaded, loader, options, storeStart);
    } catch (IOException e) {
      vertx.close();
      return Future.failedFuture(e);
    }
    CompatEndpoints compat = new CompatEndpoints(options.version(), g.startNanos, () -> g.reloadFromFile("compat"),
        authorization -> {
          AdminServer a = g.admin;
          return a == null ? null : a.accepts(authorization);
        });
    // The supervised engines first: listening before they answered, the first requests of every
    // scripted tenant failed (attack round 7 on the Node engine, N7-4: a 500 0.3 s before the
    // engine served). The proxy and admin listeners then start together.
    dev.keystone.proxy.ClientListener listener = new dev.keystone.proxy.ClientListener();
    dev.keystone.proxy.ClientListener tlsListener = config.tls().enabled() ? new dev.keystone.proxy.ClientListener() : null;
    // The handshake shares the header-read deadline: a client gets that long to start its request.
    TlsHandshake tls = tlsListener == null ? null : new TlsHandshake(() -> g.certificates, config.timeouts().headerRead().toMillis())
        .answering(g.acmeTokens).stapling(ctx -> g.certificates.staple(ctx, g.staples))
        .clientAuth(ctx -> g.certificates.clientAuthKey(ctx));
    g.handshakes = tls;
    // Then the state store's connection, so that the first requests find it made.
    return g.engine.ready().compose(v -> g.policies.warmUp())
        .compose(v -> {
          Future<String> proxy = vertx.deployVerticle(() -> {
            List<dev.keystone.proxy.Interceptor> extra = new java.util.ArrayList<>(options.interceptors());
            extra.add(compat);
            ProxyServer s = new ProxyServer(g::snapshot, config, extra, options.clock(), g.scripts, g.metrics, listener,
                tlsListener, tls, g.acmeTokens, g.policies.limiters, g.policies::apiKeys, g.policies.jwt);
            g.servers.add(s);
            return s;
          }, new DeploymentOptions().setInstances(options.eventLoops()));
          Future<AdminServer> admin = AdminServer.startFor(g, config.admin());
          // join: both have finished either way. An admin listener that started while the
          // proxy could not is handed to the gateway, so close() below closes it and removes its
          // token file (attack s11-F1: vertx.close() alone left the file behind).
          return Future.join(proxy, admin).transform(ar -> {
            if (admin.succeeded()) {
              g.admin = admin.result();
            }
            g.listening = ar.succeeded();
            if (ar.succeeded()) {
              if (g.store != null) {
                g.store.announce(); // the cluster's list says where this instance listens
              }
              vertx.executeBlocking(() -> {
                g.acme.startOrdering(g.current.get().config());
                return null;
              }, false);
            }
            return ar.succeeded() ? Future.succeededFuture(g)
                : Future.failedFuture(proxy.failed() ? proxy.cause() : admin.cause());
          });
        })
        .onFailure(e -> g.close());
  }

  /** The engine this gateway supervises, or null. */
  public EngineSupervisor supervisedEngine() {
    return engine.current();
  }

  /** The engines of tenants with {@code isolation: process}, by isolation group. */
  public java.util.Map<String, EngineSupervisor> isolatedEngines() {
    return engine.isolatedEngines();
  }

  /** The admin listener, or null when it is disabled or could not start. */
  public AdminServer admin() {
    return admin;
  }

  public Metrics metrics() {
    return metrics;
  }

  @Override
  public dev.keystone.rollout.Rollouts rollouts() {
    return rollouts;
  }

  @Override
  public Events events() {
    return events;
  }

  public String version() {
    return version;
  }

  public java.time.Instant startedAt() {
    return startedAt;
  }

  public Clock clock() {
    return clock;
  }

  /** True once a graceful stop began: readiness probes fail so no new traffic is sent here. */
  public boolean stopping() {
    return stopping;
  }

  /**
   * True once the proxy listens: the admin listener starts alongside it and must not call the
   * gateway ready before (attack s11-F1).
   */
  public boolean listening() {
    return listening;
  }

  /** Drains ({@code on}) or undrains the backends called {@code backend}, in {@code tenant} or in all (null). */
  public DrainResult drain(String backend, String tenant, boolean on) {
    return new DrainResult(backend, on, Drains.apply(current.get().snapshot(), backend, tenant, on, clock.instant(), events));
  }

  /**
   * Cluster mode: writes a drain (or its end) through to the store, so that every instance applies
   * it and one started later finds it; null without a store.
   */
  @Override
  public Future<Long> publishDrain(String backend, String tenant, boolean on) {
    StoreFollower f = store;
    return f == null ? null : f.publishDrain(tenant, backend, on);
  }

  public Snapshot snapshot() {
    return current.get().snapshot();
  }

  /** The config being served (the admin API shows it; the data plane reads the snapshot). */
  public GatewayConfig config() {
    return current.get().config();
  }

  public Vertx vertx() {
    return vertx;
  }

  public boolean nativeTransport() {
    return vertx.isNativeTransportEnabled();
  }

  /** The port actually bound (useful with port 0). */
  public int port() {
    return servers.get(0).actualPort();
  }

  /** A tls: auto certificate was issued: the table is rebuilt for the config being served. */
  /** Fetches OCSP answers for the certificates in service, off the event loop. */
  private void refreshStaples() {
    ServerCertificates now = certificates;
    vertx.executeBlocking(() -> {
      staples.refresh(now);
      return null;
    }, false);
  }

  private synchronized void certificatesIssued() {
    if (current.get() == null) {
      return; // still starting: the constructor compiles the table once more when it has applied the config
    }
    try {
      certificates = ServerCertificates.compile(current.get().config(), certificates, acme::certificate);
      refreshStaples();
    } catch (IllegalArgumentException e) {
      LOG.warning("an issued certificate could not be served: " + e.getMessage());
    }
  }

  /** Where an ACME client publishes its HTTP-01 answers for the listeners. */
  public AcmeTokens acmeTokens() {
    return acmeTokens;
  }

  @Override
  public CertificateRequest replaceCertificate(String tenant, boolean revoke) {
    dev.keystone.config.GatewayConfig config = current.get().config();
    for (dev.keystone.config.TenantConfig t : config.tenants()) {
      if (t.name().equals(tenant)) {
        return new CertificateRequest(true, acme.replace(config, t, revoke));
      }
    }
    return new CertificateRequest(false, "no tenant named '" + tenant + "'");
  }

  /** The CA certificate of {@code tls: local} tenants (what clients trust), or null when none has one. */
  public java.nio.file.Path localCaFile() {
    var ca = acme.localCa();
    boolean any = current.get().config().tenants().stream().anyMatch(t -> t.tls() != null && t.tls().local());
    return ca == null || !any ? null : ca.caFile();
  }

  /** ACME orders queued or in progress. */
  public int acmePending() {
    return acme.pending();
  }

  @Override
  public long acmeOrders(boolean issued) {
    return issued ? acme.issuedCount() : acme.failedCount();
  }

  @Override
  public int tlsHandshakesInProgress() {
    TlsHandshake h = handshakes;
    return h == null ? 0 : h.inProgress();
  }

  @Override
  public long tlsHandshakesRefused() {
    TlsHandshake h = handshakes;
    return h == null ? 0 : h.refused();
  }

  @Override
  public int tlsPort() {
    return servers.get(0).actualTlsPort();
  }

  @Override
  public ServerCertificates certificates() {
    return certificates;
  }

  /** Where the proxy listens (a reload keeps it: see {@link RestartOnly}). */
  public ListenAddress listen() {
    return current.get().config().listen();
  }

  /** Validates and applies a new config; returns its errors (empty when applied). */
  public synchronized ReloadResult reload(GatewayConfig next) {
    ReloadResult r = reloadUnrecorded(next);
    record(r, "api");
    return r;
  }

  private void record(ReloadResult r, String trigger) {
    metrics.reloaded(r.applied());
    events.add(new Events.Reload(clock.instant(), r.applied(), r.version(), trigger, r.errors()));
  }

  private ReloadResult reloadUnrecorded(GatewayConfig next) {
    return reloadUnrecorded(next, null);
  }

  /** @param beforeServed run just before the new config is served (null: nothing), only when it is */
  private ReloadResult reloadUnrecorded(GatewayConfig next, java.util.function.Consumer<Snapshot> beforeServed) {
    next = RestartOnly.keep(current.get().config(), next, adminListenGiven);
    long version = current.get().snapshot().version() + 1;
    ServerCertificates nextCertificates;
    try {
      acme.sync(next);
      nextCertificates = ServerCertificates.compile(next, certificates, acme::certificate);
    } catch (IllegalArgumentException e) {
      LOG.warning("reload rejected, still serving config version " + current.get().snapshot().version() + ": " + e.getMessage());
      return new ReloadResult(false, current.get().snapshot().version(), List.of(e.getMessage()));
    }
    EngineSlot.Change change;
    try {
      change = engine.prepare(next);
    } catch (IOException e) {
      LOG.warning("reload rejected, still serving config version " + current.get().snapshot().version() + ": " + e.getMessage());
      return new ReloadResult(false, current.get().snapshot().version(), List.of("lua_engine.supervise: " + e.getMessage()));
    }
    // A replaced engine takes traffic only once it answers: the old one serves until then.
    String notReady = engine.awaitReady(change);
    if (notReady != null) {
      engine.abort(change);
      LOG.warning("reload rejected, still serving config version " + current.get().snapshot().version() + ": " + notReady);
      return new ReloadResult(false, current.get().snapshot().version(), List.of("lua_engine.supervise: " + notReady));
    }
    next = change.config();
    apply(next, version, beforeServed);
    certificates = nextCertificates;
    refreshStaples();
    engine.commit(change);
    LOG.info("config version " + version + " applied: " + next.tenants().size() + " tenant(s) from " + next.source());
    return new ReloadResult(true, version, List.of());
  }

  /** Re-reads the config file on request. An invalid file changes nothing. */
  public ReloadResult reloadFromFile() {
    return reloadFromFile("api");
  }

  /**
   * Re-reads the config file (on change, SIGHUP or request). An invalid file changes nothing. In
   * cluster mode the store is read instead, and a reload asked through the admin API (api, compat)
   * is written to the store, so that every instance reloads.
   *
   * @param trigger what asked, for the event log: file, certificate, signal, api or compat
   */
  public ReloadResult reloadFromFile(String trigger) {
    StoreFollower f = store;
    if (f != null) { // not under this gateway's lock: the apply takes it, after the follower's own
      return f.reloadNow(snapshot().version(), trigger.equals("api") || trigger.equals("compat"), trigger);
    }
    synchronized (this) {
      ReloadResult r = readAndReload(trigger.equals("file"));
      if (r == null) { // the watcher saw a change another reload read meanwhile: nothing to do
        return new ReloadResult(false, snapshot().version(), List.of());
      }
      record(r, trigger);
      return r;
    }
  }

  /** Cluster mode: validates and applies a config read from the store (as a file reload: nothing applied when invalid). */
  private synchronized ReloadResult applyStored(String yaml, String trigger, java.util.function.Consumer<Snapshot> beforeServed) {
    ReloadResult r;
    try {
      r = reloadUnrecorded(loader.parse(yaml, storeSource), beforeServed);
    } catch (ConfigException e) {
      LOG.warning("config from " + storeSource + " rejected, still serving config version " + snapshot().version()
          + ": " + e.getMessage());
      r = new ReloadResult(false, snapshot().version(), e.errors().stream().map(Object::toString).toList());
    }
    record(r, trigger);
    return r;
  }

  /** What this instance writes in its cluster's list: where it listens, what it serves, its health. */
  private io.vertx.core.json.JsonObject describeInstance() {
    Snapshot s = snapshot();
    int total = 0;
    int healthy = 0;
    java.util.Set<dev.keystone.model.BackendHealth> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (Tenant t : s.tenants()) {
      for (Backend b : t.pool().backends()) {
        if (seen.add(b.health())) {
          total++;
          healthy += b.health().healthy() && !b.health().drained() ? 1 : 0;
        }
      }
    }
    dev.keystone.model.StoreStatus st = configStore();
    AdminServer a = admin;
    io.vertx.core.json.JsonObject d = new io.vertx.core.json.JsonObject()
        .put("pid", ProcessHandle.current().pid())
        .put("version", version)
        .put("started_at", startedAt.toString())
        .put("updated_at", clock.instant().toString())
        .put("listen", servers.isEmpty() ? null : listen().host() + ":" + port())
        .put("admin", a == null ? null : current.get().config().admin().listen().host() + ":" + a.port())
        .put("config_version", s.version())
        .put("ready", listening && !stopping)
        .put("backends", new io.vertx.core.json.JsonObject().put("total", total).put("healthy", healthy));
    if (st != null) {
      d.put("config_revision", st.revision()).put("store", st.reachable() ? "connected" : "unreachable")
          .put("refused_revision", st.refusedRevision() == 0 ? null : st.refusedRevision()).put("refusal", st.refusal());
    }
    return d;
  }

  /** Cluster mode: the instances registered in the store, read now; null without a store. */
  @Override
  public Future<List<io.vertx.core.json.JsonObject>> clusterInstances() {
    StoreFollower f = store;
    if (f == null) {
      return null;
    }
    String self = f.instanceId();
    return f.instances().map(list -> {
      list.forEach(i -> i.put("self", self.equals(i.getString("id"))));
      return list;
    });
  }

  /** Cluster mode: how this gateway stands with its store (null without one). */
  @Override
  public dev.keystone.model.StoreStatus configStore() {
    StoreFollower f = store;
    return f == null ? null : f.status();
  }

  /** The SHA-256 of the file's content as the last reload read it (guarded by this). */
  private byte[] lastRead;

  /**
   * @param unlessRead the file watcher's reload: null when the content is what the last reload
   *     read (the watcher saw the change, then waited for this lock while a reload by request read
   *     it: the same file applied twice, two versions and two events for one change)
   */
  private ReloadResult readAndReload(boolean unlessRead) {
    if (configFile == null) {
      return new ReloadResult(false, current.get().snapshot().version(),
          List.of("running on the embedded default config: there is no file to reload"));
    }
    try {
      byte[] content = ConfigLoader.readFile(configFile);
      byte[] digest = ConfigWatcher.sha256(content);
      if (unlessRead && java.util.Arrays.equals(digest, lastRead)) {
        return null;
      }
      lastRead = digest;
      if (watcher != null) {
        watcher.seen(content);
      }
      return reloadUnrecorded(loader.parseFile(content, configFile));
    } catch (ConfigException e) {
      LOG.warning("reload rejected, still serving config version " + current.get().snapshot().version() + ": " + e.getMessage());
      return new ReloadResult(false, current.get().snapshot().version(),
          e.errors().stream().map(Object::toString).toList());
    }
  }

  private void apply(GatewayConfig config, long version) {
    apply(config, version, null);
  }

  private void apply(GatewayConfig config, long version, java.util.function.Consumer<Snapshot> beforeServed) {
    Snapshot s = SnapshotCompiler.compile(config, version, clock.instant(), registry, splits);
    if (beforeServed != null) {
      beforeServed.accept(s); // e.g. the store's drains and revision: in place before the config is served
    }
    current.set(new Served(config, s));
    splits.retainOnly(s.tenants().stream().map(Tenant::name).toList());
    checker.sync(s.healthTargets());
    policies.apply(config, s);
    registry.retainOnly(s.stateKeys());
    Map<String, Set<String>> names = new HashMap<>();
    for (Tenant t : s.tenants()) {
      List<Backend> backends = t.pool().backends();
      String[] backendNames = new String[backends.size()];
      for (int i = 0; i < backendNames.length; i++) {
        backendNames[i] = backends.get(i).name();
      }
      names.put(t.name(), Set.copyOf(java.util.Arrays.asList(backendNames))); // compact: kept while the snapshot serves
    }
    metrics.retain(names);
  }

  @Override
  public dev.keystone.model.StateStoreStatus stateStoreStatus() {
    dev.keystone.model.StateStoreStatus s = policies.stateStoreStatus();
    String acmeProblem = acme.sharedProblem(); // its own connection: one of the two may fail alone (attack s19-acme F5)
    if (s == null || !s.up() || acmeProblem == null) {
      return s;
    }
    return new dev.keystone.model.StateStoreStatus(s.url(), false, "ACME: " + acmeProblem);
  }

  @Override
  public long rateLimitKeys() {
    return policies.limiters.keys();
  }

  /** The API keys accepted now (names and scopes; the admin API lists them). */
  public dev.keystone.model.ApiKeyTable apiKeys() {
    return policies.apiKeys();
  }

  @Override
  public List<dev.keystone.model.ApiKey> apiKeyList() {
    return List.copyOf(policies.apiKeys().bySha256().values());
  }

  /**
   * In the store (every instance takes it from its watch), else in the keys file (and the config
   * reloaded with it, so the key works when this answers).
   */
  @Override
  public Future<String> addApiKey(dev.keystone.model.ApiKey key) {
    StoreFollower f = store;
    if (f != null) {
      return f.forAdmin(() -> f.keysStore().add(key)).map(added -> added ? null : "a key named " + key.name() + " exists");
    }
    dev.keystone.config.ApiKeysFile file = current.get().config().apiKeys();
    if (file == null) {
      return GatewayControl.super.addApiKey(key);
    }
    return vertx.executeBlocking(() -> {
      if (!dev.keystone.config.KeysFile.add(file.file(), key)) {
        return "a key named " + key.name() + " exists";
      }
      ReloadResult r = reloadFromFile("api");
      return r.applied() ? null : "the key was written to " + file.file() + " but the config did not reload: " + r.errors();
    }, false);
  }

  @Override
  public Future<Boolean> revokeApiKey(String name) {
    StoreFollower f = store;
    if (f != null) {
      return f.forAdmin(() -> f.keysStore().remove(name));
    }
    dev.keystone.config.ApiKeysFile file = current.get().config().apiKeys();
    if (file == null) {
      return GatewayControl.super.revokeApiKey(name);
    }
    return vertx.executeBlocking(() -> {
      boolean removed = dev.keystone.config.KeysFile.remove(file.file(), name);
      if (removed && !reloadFromFile("api").applied()) {
        throw new IllegalStateException("the key was removed from " + file.file() + " but the config did not reload");
      }
      return removed;
    }, false);
  }

  /** {@code state_store}: the Redis cluster rate limits count in, or null. */
  public dev.keystone.state.RedisStore stateStore() {
    return policies.stateStore();
  }

  /**
   * Graceful stop, in the order that fails nothing: readiness fails at once (load balancers stop
   * sending), the proxy keeps accepting for {@code timeouts.shutdown_delay} (until they have
   * noticed), then stops accepting and lets in-flight requests finish for up to
   * {@code timeouts.shutdown}; only then do the health checks, the supervised engine (which
   * in-flight scripted requests may still need) and the admin listener stop.
   */
  public Future<Void> shutdown() {
    stopping = true; // readiness fails from now on
    return GracefulStop.run(vertx, current.get().config().timeouts(), servers,
        () -> {
          if (store != null) {
            store.close(); // no change applied during the drain; the instance leaves the cluster's list
          }
          if (watcher != null) {
            watcher.close();
          }
          if (certificateWatcher != null) {
            certificateWatcher.close();
          }
          vertx.cancelTimer(acmeTimer);
          vertx.cancelTimer(rolloutTimer);
          acme.close();
        },
        () -> {
          checker.close();
          engine.close(); // waits for the engine's process
          policies.close();
        },
        this::closeAdmin);
  }

  /** Immediate stop (tests). */
  public Future<Void> close() {
    closeAdmin();
    if (watcher != null) {
      watcher.close();
    }
    if (certificateWatcher != null) {
      certificateWatcher.close();
    }
    vertx.cancelTimer(acmeTimer);
    vertx.cancelTimer(rolloutTimer);
    acme.close();
    checker.close();
    engine.close();
    policies.close();
    Future<Void> left = store == null ? Future.succeededFuture() : store.close();
    return left.transform(ar -> vertx.close());
  }

  private void closeAdmin() {
    AdminServer a = admin;
    admin = null;
    if (a != null) {
      a.close();
    }
  }

}
