package dev.keystone.gateway;

import dev.keystone.config.GatewayConfig;
import dev.keystone.model.ApiKeyTable;
import dev.keystone.model.Snapshot;
import dev.keystone.model.StateStoreStatus;
import dev.keystone.model.Tenant;
import dev.keystone.policy.JwtVerifiers;
import dev.keystone.policy.RateLimiters;
import dev.keystone.script.ScriptEnvironment;
import dev.keystone.state.RedisCounters;
import dev.keystone.state.RedisKv;
import dev.keystone.state.RedisStore;
import io.vertx.core.Vertx;

import java.time.Clock;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * The runtime state of the tenants' policies, kept across reloads and brought in line with each
 * applied config: rate-limit counts, JWT checks and their key sets, the API keys (the keys file's
 * and, in cluster mode, the store's), and the state store (Redis) that cluster rate limits and the
 * scripts' kv store share.
 */
final class PolicyRuntime implements AutoCloseable {

  private final Vertx vertx;
  private final ScriptEnvironment scripts;
  final RateLimiters limiters;
  final JwtVerifiers jwt;
  private final long sweep;
  private volatile ApiKeyTable fileKeys = ApiKeyTable.EMPTY;
  private volatile ApiKeyTable storeKeys = ApiKeyTable.EMPTY;
  private volatile ApiKeyTable apiKeys = ApiKeyTable.EMPTY;
  private volatile RedisStore stateStore;
  private volatile RedisKv sharedKv;

  PolicyRuntime(Vertx vertx, Clock clock, ScriptEnvironment scripts) {
    this.vertx = vertx;
    this.scripts = scripts;
    this.limiters = new RateLimiters(clock);
    this.jwt = new JwtVerifiers(vertx, clock);
    this.sweep = vertx.setPeriodic(10_000, id -> limiters.sweep());
  }

  /** Brings everything in line with {@code config}, compiled into {@code s}. */
  void apply(GatewayConfig config, Snapshot s) {
    useStateStore(config.stateStore());
    synchronized (this) {
      fileKeys = config.apiKeys() == null ? ApiKeyTable.EMPTY : config.apiKeys().table();
      apiKeys = fileKeys.with(storeKeys);
    }
    Set<RateLimiters.TenantRule> rules = new HashSet<>();
    for (Tenant t : s.tenants()) {
      t.policies().rateLimits().forEach(r -> rules.add(RateLimiters.idOf(t.name(), r)));
    }
    limiters.retainOnly(rules);
    jwt.sync(s.tenants().stream().map(t -> t.policies().jwt()).filter(Objects::nonNull).distinct().toList());
  }

  /** Cluster mode: the store's API keys changed (they join the keys file's). */
  synchronized void storeKeys(ApiKeyTable keys) {
    storeKeys = keys;
    apiKeys = fileKeys.with(keys);
  }

  ApiKeyTable apiKeys() {
    return apiKeys;
  }

  RedisStore stateStore() {
    return stateStore;
  }

  /** Completes once the state store (if any) is connected, or after 5 s: see {@link RedisStore#warmUp}. */
  io.vertx.core.Future<Void> warmUp() {
    RedisStore r = stateStore;
    return r == null ? io.vertx.core.Future.succeededFuture() : r.warmUp(5000);
  }

  StateStoreStatus stateStoreStatus() {
    RedisStore r = stateStore;
    return r == null ? null : new StateStoreStatus(r.url().replaceAll("//[^@/]*@", "//***@"), r.up(), r.problem());
  }

  /** Connects to {@code url} unless connected to it already (a reload that changes it replaces the connection). */
  private synchronized void useStateStore(String url) {
    RedisStore old = stateStore;
    if (old != null && old.url().equals(url)) {
      return;
    }
    RedisStore next = url == null ? null : new RedisStore(vertx, url);
    stateStore = next;
    limiters.shared(next == null ? null : new RedisCounters(next, "keystone:rl:"));
    RedisKv oldKv = sharedKv;
    sharedKv = next == null ? null : new RedisKv(next, scripts);
    scripts.replicate(sharedKv);
    if (oldKv != null) {
      oldKv.close();
    }
    if (old != null) {
      old.close();
    }
  }

  @Override
  public void close() {
    vertx.cancelTimer(sweep);
    jwt.close();
    RedisKv kv = sharedKv;
    if (kv != null) {
      kv.close();
    }
    RedisStore r = stateStore;
    if (r != null) {
      r.close();
    }
  }
}
