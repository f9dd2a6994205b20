package dev.keystone.policy;

import dev.keystone.model.JwtRule;
import io.vertx.core.Vertx;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The tenants' token checks, made when a config is applied, and the JWK sets they fetch. */
public final class JwtVerifiers implements AutoCloseable {

  private final JwksCache cache;
  private final Clock clock;
  private final Map<JwtRule, JwtVerifier> verifiers = new ConcurrentHashMap<>();

  public JwtVerifiers(Vertx vertx, Clock clock) {
    this.cache = new JwksCache(vertx);
    this.clock = clock;
  }

  /** Makes the checks of {@code rules} (keeping those unchanged) and fetches their key sets. */
  public void sync(List<JwtRule> rules) {
    Map<String, Duration> urls = new HashMap<>();
    for (JwtRule r : rules) {
      if (r.jwksUrl() != null) {
        urls.merge(r.jwksUrl(), r.refresh(), (a, b) -> a.compareTo(b) < 0 ? a : b);
      }
    }
    cache.sync(urls);
    verifiers.keySet().retainAll(new java.util.HashSet<>(rules));
    for (JwtRule r : rules) {
      verifiers.computeIfAbsent(r, x -> new JwtVerifier(x, cache, clock));
    }
  }

  /** Checks {@code token} against {@code rule}; an unknown key id has the key set fetched again (at most every 10 s). */
  public JwtVerifier.Result verify(JwtRule rule, String token) {
    JwtVerifier v = verifiers.computeIfAbsent(rule, x -> new JwtVerifier(x, cache, clock));
    JwtVerifier.Result r = v.verify(token);
    if (r.unknownKey()) {
      cache.unknownKey(rule.jwksUrl());
    }
    return r;
  }

  /** Why {@code url} could not be fetched lately, or null. */
  public String problem(String url) {
    return cache.problem(url);
  }

  @Override
  public void close() {
    cache.close();
  }
}
