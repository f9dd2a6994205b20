package dev.keystone.gateway;

import dev.keystone.cluster.ConfigStore;
import dev.keystone.cluster.EtcdClient;
import dev.keystone.cluster.EtcdWatch;
import dev.keystone.cluster.StoreUrl;
import dev.keystone.model.ReloadResult;
import dev.keystone.model.StoreStatus;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.logging.Logger;

/**
 * Keeps a gateway on its cluster's config in etcd: a watch on the cluster's keys brings each push
 * within moments, and a read every {@link #PROBE_MS} both tells whether etcd answers and catches up
 * with anything a watch could miss (a partitioned member, a stream that stalled). Each new revision
 * is applied as a file reload is (all errors, nothing applied when invalid), one at a time, only the
 * newest of those waiting; an applied one is cached on disk for a start while etcd is down. With
 * etcd unreachable the gateway goes on serving what it has; it only says so.
 */
final class StoreFollower {

  static final long PROBE_MS = 2000;
  /** A probe's read gives up after this long (a frozen member answers nothing). */
  static final long PROBE_TIMEOUT_MS = 1500;
  /** Probes that must fail in a row before the store is called unreachable (one member's hiccup is not). */
  static final int FAILURES_TO_DOWN = 2;
  /** The longest an admin API call (reload, drain, keys, instances) waits for etcd. */
  static final long ADMIN_DEADLINE_MS = 3000;
  private static final Logger LOG = Logger.getLogger("keystone.store");

  /** What the follower asks of the gateway: apply a config text, or re-apply the one it serves. */
  interface Target {
    /** Applies {@code yaml}; {@code beforeServed} runs with its snapshot just before it is served, only when it is. */
    ReloadResult applyStored(String yaml, String trigger, java.util.function.Consumer<dev.keystone.model.Snapshot> beforeServed);

    /** Applies a stored drain to {@code s}, a snapshot about to be served. */
    void drainStoredIn(dev.keystone.model.Snapshot s, String tenant, String backend, boolean on);

    /** Drains ({@code on}) or undrains {@code backend} in {@code tenant} (null: in every tenant), as the store says. */
    void drainStored(String tenant, String backend, boolean on);

    /** What this instance tells the cluster about itself (addresses, revision, health). */
    io.vertx.core.json.JsonObject describe();

    /** The cluster's API keys changed. */
    void apiKeys(dev.keystone.model.ApiKeyTable keys);
  }

  /** One piece of work: a revision to apply, or (reload) the served one again. */
  private record Work(String yaml, long revision, boolean deleted, String trigger) {
  }

  private final Vertx vertx;
  private final StoreUrl url;
  private final StoreCache cache;
  private final EtcdClient etcd;
  private final ConfigStore configs;
  private final Target target;
  private final Clock clock;
  private final long probeTimer;
  private final InstanceLease lease;
  private final ClusterKeys keys;
  private EtcdWatch watch; // guarded by this
  private long served; // guarded by this: the revision being served
  private String servedYaml; // guarded by this
  private long seen; // guarded by this: the newest revision applied or refused
  private Work pending; // guarded by this
  private boolean applying; // guarded by this
  private boolean reachable = true; // guarded by this
  private String problem; // guarded by this
  private Instant since; // guarded by this
  private boolean fromCache; // guarded by this
  private long refusedRevision; // guarded by this
  private String refusal; // guarded by this
  private long lastReload; // guarded by this: the newest reload request handled
  private boolean closed; // guarded by this
  private int probeFailures; // guarded by this
  private int watchBehind; // guarded by this: probes in a row that saw a change the watch had not delivered
  private final ClusterDrains drains;
  private boolean watchStopped; // guarded by this: a compacted watch ends; the next probe starts another
  /** Held while a config is applied: the watch's changes and the admin API's reload go one at a time. */
  private final Object applyLock = new Object();

  StoreFollower(Vertx vertx, StoreStart start, Target target, Clock clock) {
    this.vertx = vertx;
    this.url = start.url();
    this.cache = new StoreCache(start.cacheFile(), url);
    this.etcd = new EtcdClient(vertx, url.endpoints());
    this.configs = new ConfigStore(etcd, url);
    this.target = target;
    this.clock = clock;
    this.served = start.revision();
    this.servedYaml = start.yaml();
    this.seen = start.seen();
    this.fromCache = start.fromCache();
    this.since = clock.instant();
    this.keys = new ClusterKeys(start.apiKeys(), target::apiKeys);
    // the config is applied already: the drains the cluster had go on top
    this.drains = new ClusterDrains(url, start.drains(), target::drainStored);
    if (start.fromCache()) {
      reachable = false;
      problem = start.warning();
    } else {
      vertx.executeBlocking(() -> {
        writeCache();
        return null;
      }, false);
    }
    watchFrom(start.watchFrom());
    if (start.fromCache()) {
      synchronized (this) {
        watchStopped = true; // once etcd answers: the whole prefix read, the cache's age known
      }
    }
    this.probeTimer = vertx.setPeriodic(PROBE_MS, id -> probe());
    this.lease = new InstanceLease(vertx, etcd, url, InstanceLease.defaultId(), target::describe);
  }

  /** What this instance writes to ask for a reload: the others reload, it sees its own name and does not. */
  private String reloadValue() {
    return new io.vertx.core.json.JsonObject().put("by", lease.id()).encode();
  }

  /** The cluster's API keys in the store (for the admin API's create and revoke). */
  dev.keystone.cluster.KeysStore keysStore() {
    return new dev.keystone.cluster.KeysStore(etcd, url);
  }

  /** Writes this instance's entry again: it listens now (its first entry, written earlier, had no address). */
  void announce() {
    if (lease != null) {
      lease.renewSoon();
    }
  }

  /** This instance's name in the cluster's list. */
  String instanceId() {
    return lease.id();
  }

  /** The cluster's instances as they registered (each entry as it wrote itself), read from etcd now. */
  Future<List<io.vertx.core.json.JsonObject>> instances() {
    return forAdmin(configs::instances); // entries that are not an instance's own left out (attack s18-cluster F7)
  }

  StoreStatus status() {
    synchronized (this) {
      return new StoreStatus(url.toString(), served, reachable, problem, since, fromCache, refusedRevision, refusal);
    }
  }

  StoreUrl url() {
    return url;
  }

  private synchronized void watchFrom(long revision) {
    if (closed) {
      return;
    }
    if (watch != null) {
      watch.close();
    }
    watchStopped = false;
    // compacted: the probe reads the config as it is now, and watches on from there
    watch = new EtcdWatch(etcd, url.keys(), revision, this::changed, compacted -> {
      synchronized (this) {
        watchStopped = true;
      }
      probe();
    });
  }

  private void changed(List<EtcdWatch.Event> events) {
    Work config = null;
    long reload = 0;
    List<EtcdWatch.Event> drainChanges = new java.util.ArrayList<>();
    boolean keysChanged = false;
    for (EtcdWatch.Event e : events) {
      String key = e.kv().key();
      if (url.isApiKey(key)) {
        keysChanged = true;
        if (e.deleted()) {
          keys.remove(key);
        } else {
          keys.put(key, e.kv().value());
        }
      } else if (key.equals(url.configKey())) {
        config = new Work(e.kv().value(), e.kv().modRevision(), e.deleted(), "store");
      } else if (key.equals(url.reloadKey()) && !e.deleted() && !e.kv().value().equals(reloadValue())) {
        // another instance's reload (this one's reloads itself where it was asked)
        reload = Math.max(reload, e.kv().modRevision());
      } else if (url.drainOf(key) != null) {
        drainChanges.add(e);
      }
    }
    if (config != null) {
      offer(config);
    }
    if (keysChanged) {
      vertx.executeBlocking(() -> {
        keys.publish();
        writeCache();
        return null;
      }, true);
    }
    if (reload > 0) {
      reloadRequested(reload);
    }
    if (!drainChanges.isEmpty()) {
      // ordered: the drains of one instance's API calls go on in the order they were made
      vertx.executeBlocking(() -> {
        for (EtcdWatch.Event e : drainChanges) {
          drains.changed(e.kv().key(), !e.deleted());
        }
        writeCache();
        return null;
      }, true);
    }
  }

  /**
   * Writes a drain through to the store: every instance (this one too, through its watch) applies
   * it, and an instance started later finds it.
   */
  Future<Long> publishDrain(String tenant, String backend, boolean on) {
    String key = url.drainKey(tenant, backend);
    return forAdmin(() -> on ? etcd.put(key, new io.vertx.core.json.JsonObject().put("tenant", tenant).put("backend", backend)
        .put("at", clock.instant().toString()).encode()) : etcd.delete(key));
  }

  /** After a watch that ended (compaction): the drains and keys as the store has them now. */
  private void reconcile(java.util.Set<String> now) {
    vertx.executeBlocking(() -> {
      drains.replaceAll(now);
      keys.publish();
      writeCache();
      return null;
    }, true);
  }

  /** Reads the config: is etcd there, and is there a revision this gateway has not seen? */
  private void probe() {
    boolean restartWatch;
    synchronized (this) {
      if (closed) {
        return;
      }
      restartWatch = watch == null || watchStopped;
    }
    if (restartWatch) { // the whole prefix: a watch that ended may have missed drains as well as pushes
      etcd.getPrefix(url.keys()).onComplete(ar -> {
        if (ar.failed()) {
          probeFailed(ar.cause());
          return;
        }
        reachable(true, null);
        java.util.Set<String> now = new java.util.TreeSet<>();
        java.util.Map<String, String> keysNow = new java.util.TreeMap<>();
        for (EtcdClient.KeyValue kv : ar.result().kvs()) {
          if (url.isApiKey(kv.key())) {
            keysNow.put(kv.key(), kv.value());
          } else if (kv.key().equals(url.configKey())) {
            synchronized (this) {
              if (kv.modRevision() == served) {
                fromCache = false; // the store holds what the cache held: in step again
              }
            }
            offer(new Work(kv.value(), kv.modRevision(), false, "store"));
          } else if (url.drainOf(kv.key()) != null) {
            now.add(kv.key());
          }
        }
        keys.replaceAll(keysNow);
        reconcile(now);
        watchFrom(ar.result().revision() + 1);
      });
      return;
    }
    // The newest change under the prefix: etcd answers, and the watch has delivered it, or it is
    // stuck on a member cut off from its cluster (open and silent): then the prefix is read again
    // and watched from another member (the partition test in ClusterProcessTest).
    EtcdWatch w;
    synchronized (this) {
      w = watch;
    }
    long expected = w == null ? Long.MAX_VALUE : w.nextRevision();
    etcd.newestUnder(url.keys(), PROBE_TIMEOUT_MS).onComplete(ar -> {
      if (ar.failed()) {
        probeFailed(ar.cause());
        return;
      }
      reachable(true, null);
      boolean restart;
      synchronized (this) {
        watchBehind = ar.result() >= expected ? watchBehind + 1 : 0;
        restart = watchBehind >= 2;
        if (restart) {
          watchBehind = 0;
          watchStopped = true; // the next probe reads the prefix and watches anew
        }
      }
      if (restart) {
        LOG.warning("the watch on " + url + " has not delivered revision " + ar.result() + ": reading the store again");
        probe();
      }
    });
  }

  private void probeFailed(Throwable e) {
    boolean down;
    synchronized (this) {
      down = ++probeFailures >= FAILURES_TO_DOWN;
    }
    if (down) {
      reachable(false, "etcd " + url + " did not answer: " + describe(e));
    }
  }

  /** A failure's reason, never "null" (a timeout has no message: attack s18-cluster F6). */
  static String describe(Throwable e) {
    Throwable c = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
    if (c instanceof java.util.concurrent.TimeoutException || c.getMessage() == null) {
      return c instanceof java.util.concurrent.TimeoutException ? "no answer in time" : c.getClass().getSimpleName();
    }
    return c.getMessage();
  }

  /**
   * {@code f} for an admin API call: failed at once while the store is known to be unreachable,
   * and after {@link #ADMIN_DEADLINE_MS} at most (attack s18-cluster F3: calls waited 10-35 s on a
   * frozen etcd).
   */
  <T> Future<T> forAdmin(java.util.function.Supplier<Future<T>> call) {
    StoreStatus st = status();
    if (!st.reachable()) {
      return Future.failedFuture("the config store " + url + " is unreachable (since " + st.since() + "): " + st.problem());
    }
    io.vertx.core.Promise<T> p = io.vertx.core.Promise.promise();
    long timer = vertx.setTimer(ADMIN_DEADLINE_MS, t -> p.tryFail("the config store " + url + " did not answer within "
        + ADMIN_DEADLINE_MS / 1000 + " s"));
    call.get().onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        p.tryComplete(ar.result());
      } else {
        p.tryFail(describe(ar.cause()));
      }
    });
    return p.future();
  }

  private void reachable(boolean now, String why) {
    synchronized (this) {
      if (now) {
        probeFailures = 0;
      }
      if (reachable == now) {
        problem = now ? null : why;
        return;
      }
      reachable = now;
      problem = why;
      since = clock.instant();
    }
    if (now) {
      LOG.info("config store " + url + " answers again; serving revision " + status().revision());
    } else {
      LOG.warning("config store unreachable, still serving revision " + status().revision() + ": " + why);
    }
  }

  /** Queues {@code w} unless it is older than what was seen; only the newest queued one is applied. */
  private void offer(Work w) {
    synchronized (this) {
      if (closed || w.revision() <= seen || (pending != null && w.revision() <= pending.revision())) {
        return;
      }
      pending = w;
    }
    startApplying();
  }

  /** Starts applying what is pending on a worker, unless one is at it already (it takes the newest). */
  private void startApplying() {
    synchronized (this) {
      if (applying) {
        return;
      }
      applying = true;
    }
    vertx.executeBlocking(() -> {
      applyPending();
      return null;
    }, false);
  }

  /** An admin API reload on some instance: every instance re-applies what it serves (scripts on disk may have changed). */
  private void reloadRequested(long revision) {
    synchronized (this) {
      if (revision <= lastReload) {
        return;
      }
      lastReload = revision;
      if (pending == null) {
        pending = new Work(servedYaml, served, false, "store-reload");
      }
    }
    startApplying();
  }

  private void applyPending() {
    while (true) {
      Work w;
      synchronized (this) {
        w = pending;
        pending = null;
        if (w == null || closed) {
          applying = false;
          return;
        }
      }
      apply(w);
    }
  }

  /**
   * {@code w} is served from now on: recorded before the swap (CI at 19f5c33: a request already
   * answered by the new config read the old revision in the status).
   */
  private synchronized void served(Work w) {
    seen = Math.max(seen, w.revision());
    served = w.revision();
    servedYaml = w.yaml();
    fromCache = false;
    if (refusedRevision < served) {
      refusedRevision = 0; // a later revision was applied: the refusal is history (attack s18-cluster F7)
      refusal = null;
    }
  }

  /**
   * Applies {@code w} unless a newer revision is served already (the admin API's reload read the
   * store while the watch brought a newer push): a gateway never goes back to an older config.
   */
  private ReloadResult apply(Work w) {
    synchronized (applyLock) {
      StoreStatus now = status();
      if (w.revision() < now.revision()) {
        return null;
      }
      ReloadResult r = w.deleted()
          ? new ReloadResult(false, 0, List.of(url.configKey() + " was deleted (revision " + w.revision()
              + "): still serving revision " + now.revision()))
          : target.applyStored(w.yaml(), w.trigger(), s -> {
            // drains first, then the revision, then the swap: whoever sees the revision sees the
            // drains (CI at 366d1d2: a backend the new config adds under a drained name was served
            // undrained for a moment), whoever sees the new config sees its revision
            drains.reapplyTo((tenant, backend, on) -> target.drainStoredIn(s, tenant, backend, on));
            served(w);
          });
      synchronized (this) {
        seen = Math.max(seen, w.revision());
        if (!r.applied() && w.revision() > served) {
          refusedRevision = w.revision();
          refusal = r.errors().isEmpty() ? "refused" : r.errors().get(0);
        }
      }
      if (w.deleted()) {
        LOG.warning(r.errors().get(0));
      }
      if (lease != null) {
        lease.renewSoon(); // the cluster's list says at once what this instance serves or refused
      }
      if (r.applied()) {
        writeCache();
      }
      return r;
    }
  }

  /**
   * Re-reads the store now and applies what it holds; with {@code everyInstance} (the admin API's
   * reload) every other instance is asked to re-apply theirs too, through the store. Blocks up to
   * 10 s: call off the event loop, and not while holding the gateway's lock (the apply takes it).
   */
  ReloadResult reloadNow(long currentVersion, boolean everyInstance, String trigger) {
    try {
      ConfigStore.Stored s = await(forAdmin(configs::get));
      if (!s.exists()) {
        return new ReloadResult(false, currentVersion, List.of("there is no config at " + url.configKey()));
      }
      if (everyInstance) {
        await(forAdmin(() -> etcd.put(url.reloadKey(), reloadValue())));
      }
      ReloadResult r = apply(new Work(s.yaml(), s.modRevision(), false, trigger));
      if (r == null) { // a newer push was applied meanwhile: reload that one
        StoreStatus now = status();
        String yaml;
        synchronized (this) {
          yaml = servedYaml;
        }
        r = apply(new Work(yaml, now.revision(), false, trigger));
      }
      return r != null ? r : new ReloadResult(true, currentVersion, List.of());
    } catch (Exception e) {
      return new ReloadResult(false, currentVersion, List.of(describe(e) + "; still serving revision " + status().revision()));
    }
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Caches the config being served and the drains, for a start while etcd is down. */
  private void writeCache() {
    String yaml;
    long revision;
    List<String> d;
    synchronized (this) {
      yaml = servedYaml;
      revision = served;
      d = drains.snapshot();
    }
    try {
      cache.write(yaml, revision, d, keys.snapshot());
    } catch (IOException e) {
      LOG.warning("cannot cache the config of revision " + revision + " in " + cache.file()
          + " (a start while etcd is down cannot use it): " + e);
    }
  }

  /** Stops following; the instance leaves the cluster's list (the returned future, once etcd was told or gave up). */
  Future<Void> close() {
    synchronized (this) {
      closed = true;
      if (watch != null) {
        watch.close();
      }
    }
    vertx.cancelTimer(probeTimer);
    return lease.close().onComplete(ar -> etcd.close());
  }
}
