package dev.keystone.admin;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.ListenAddress;
import dev.keystone.engine.EngineSupervisor;
import dev.keystone.metrics.Metrics;
import dev.keystone.model.DrainResult;
import dev.keystone.model.Events;
import dev.keystone.model.ReloadResult;
import dev.keystone.model.Snapshot;
import io.vertx.core.Vertx;

import java.time.Clock;
import java.time.Instant;
import java.util.Map;

/**
 * What the admin listener reads and asks of a running gateway. The gateway (lifecycle, on top)
 * implements it, so the admin package never depends on the lifecycle that starts it.
 */
public interface GatewayControl {

  Snapshot snapshot();

  GatewayConfig config();

  Metrics metrics();

  Events events();

  /** The tenants' rollouts (canary steps). */
  dev.keystone.rollout.Rollouts rollouts();

  String version();

  Instant startedAt();

  Clock clock();

  Vertx vertx();

  boolean nativeTransport();

  int port();

  ListenAddress listen();

  boolean stopping();

  /** True once every proxy listener listens: until then readiness fails ("starting"). */
  boolean listening();

  /** The supervised shared engine, or null. */
  EngineSupervisor supervisedEngine();

  /** The engines of {@code isolation: process} groups, by group. */
  Map<String, EngineSupervisor> isolatedEngines();

  DrainResult drain(String backend, String tenant, boolean on);

  /**
   * Cluster mode: writes a drain through to the store (every instance applies it); null when the
   * gateway has no store.
   */
  default io.vertx.core.Future<Long> publishDrain(String backend, String tenant, boolean on) {
    return null;
  }

  /** Cluster mode: the instances registered in the store (read from etcd now); null without a store. */
  default io.vertx.core.Future<java.util.List<io.vertx.core.json.JsonObject>> clusterInstances() {
    return null;
  }

  /** The state store ({@code state_store}) and whether it answers; null without one. */
  default dev.keystone.model.StateStoreStatus stateStoreStatus() {
    return null;
  }

  /** Keys the rate limits count now (every tenant's rules on this instance). */
  default long rateLimitKeys() {
    return 0;
  }

  /** The API keys accepted now (the keys file's and the store's). */
  default java.util.List<dev.keystone.model.ApiKey> apiKeyList() {
    return java.util.List.of();
  }

  /**
   * Adds {@code key} where the gateway reads keys (the store, else the config's api_keys_file):
   * null when added, else why not (a name taken); fails when there is nowhere to add it or the
   * store does not answer.
   */
  default io.vertx.core.Future<String> addApiKey(dev.keystone.model.ApiKey key) {
    return io.vertx.core.Future.failedFuture("no api_keys_file in the config and no config store: nowhere to keep keys");
  }

  /** Removes the key named {@code name}; false when there is none. */
  default io.vertx.core.Future<Boolean> revokeApiKey(String name) {
    return io.vertx.core.Future.failedFuture("no api_keys_file in the config and no config store: nowhere to keep keys");
  }

  /** Cluster mode: how the gateway stands with its config store; null when it runs on a file. */
  default dev.keystone.model.StoreStatus configStore() {
    return null;
  }

  ReloadResult reloadFromFile(String trigger);

  /** The certificates the TLS listener serves now ({@code ServerCertificates.NONE} without one). */
  dev.keystone.tls.ServerCertificates certificates();

  /** The TLS listener's bound port, or -1 when there is none. */
  int tlsPort();

  /**
   * Orders a new certificate for {@code tenant} ({@code tls: auto}) now; with {@code revoke} the
   * current one is revoked first. Null when queued; else why not, and whether the tenant exists.
   */
  CertificateRequest replaceCertificate(String tenant, boolean revoke);

  /** The answer to {@link #replaceCertificate}: {@code refusal} null when queued. */
  record CertificateRequest(boolean tenantFound, String refusal) {
  }

  /** ACME orders ({@code tls: auto}) that ended with a certificate (true) or failed (false). */
  long acmeOrders(boolean issued);

  /** TLS handshakes in progress now. */
  int tlsHandshakesInProgress();

  /** TLS connections closed unread because too many handshakes were in progress. */
  long tlsHandshakesRefused();
}
