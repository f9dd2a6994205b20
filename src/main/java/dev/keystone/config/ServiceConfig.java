package dev.keystone.config;

import dev.keystone.model.Backend;
import dev.keystone.model.BackendHealth;
import dev.keystone.model.UpstreamTls;

import java.util.Map;

/**
 * One backend of a tenant.
 *
 * @param name   name, unique within the tenant
 * @param url    base URL as written (scheme, host, optional port, path and query)
 * @param health health-check path, relative to the URL's path
 * @param weight relative share of requests (1 when not set)
 * @param labels free-form labels used by scripts to pick backends
 * @param tls    how an https:// backend is verified ({@code tls_verify}, {@code tls_ca},
 *               {@code tls_server_name})
 * @param standby no round-robin turns: only a script's {@code route_to}, a rollout's canary
 *               share, or when no other backend is healthy ({@code standby: true})
 */
public record ServiceConfig(String name, String url, String health, int weight, Map<String, String> labels,
                            UpstreamTls tls, boolean standby) {

  public ServiceConfig {
    labels = Map.copyOf(labels);
  }

  public ServiceConfig(String name, String url, String health, int weight, Map<String, String> labels, UpstreamTls tls) {
    this(name, url, health, weight, labels, tls, false);
  }

  public ServiceConfig(String name, String url, String health, int weight, Map<String, String> labels) {
    this(name, url, health, weight, labels, UpstreamTls.DEFAULT);
  }

  /** This service compiled into the model, with its runtime state. */
  public Backend backend(BackendHealth state) {
    return new Backend(name, Backend.Address.parse(url), health, weight, labels, tls, state, standby);
  }

  /** {@link #backend(BackendHealth)} at {@code address}, the {@link #url()} parsed before. */
  public Backend backend(Backend.Address address, BackendHealth state) {
    return new Backend(name, address, health, weight, labels, tls, state, standby);
  }

  /** The key of its runtime state (see {@link Backend#stateKey}). */
  public String stateKey() {
    return Backend.stateKey(url, health, tls);
  }
}
