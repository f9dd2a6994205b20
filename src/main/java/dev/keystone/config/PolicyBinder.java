package dev.keystone.config;

import dev.keystone.model.RateLimitRule;
import dev.keystone.model.TenantPolicies;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A tenant's policies: {@code rate_limits}, a list of
 * <pre>
 * - limit: 100            # requests
 *   window: 1m            # per window (1s to 1d)
 *   key: client_ip        # tenant | client_ip | api_key | header:NAME
 *   algorithm: fixed_window   # fixed_window | sliding_window | token_bucket
 *   scope: local          # local | cluster (counted in state_store, shared by every instance)
 *   on_store_failure: local   # cluster, state store down: local (count here) | deny (503)
 *   batch: 10             # cluster: requests taken from the store at a time
 * </pre>
 */
final class PolicyBinder {

  static final Duration MAX_WINDOW = Duration.ofDays(1);

  private PolicyBinder() {
  }

  static TenantPolicies bind(Section t, Problems problems, boolean stateStore, String source) {
    List<RateLimitRule> rules = new ArrayList<>();
    for (Section r : t.sections("rate_limits")) {
      RateLimitRule rule = rule(r, problems, stateStore);
      if (rule != null) {
        rules.add(rule);
      }
      r.finish();
    }
    dev.keystone.model.ApiKeyRule apiKey = ApiKeysBinder.tenant(t);
    dev.keystone.model.JwtRule jwt = JwtBinder.bind(t, source);
    for (int i = 0; i < rules.size(); i++) {
      RateLimitRule r = rules.get(i);
      // the key and token headers are gone before the limits count (attack s18-policy F9: every
      // request shared one count): count by the key's name, or a forwarded claim's header
      if (r.key() == RateLimitRule.Key.HEADER && ((apiKey != null && r.header().equalsIgnoreCase(apiKey.header()))
          || (jwt != null && r.header().equalsIgnoreCase(jwt.header())))) {
        problems.add(t.keyPath("rate_limits") + "[" + i + "].key", "header:" + r.header() + " is removed before the limits count;"
            + (apiKey != null ? " use key: api_key (the key's name)" : " use a header of jwt.forward_claims"));
      }
    }
    return rules.isEmpty() && apiKey == null && jwt == null ? TenantPolicies.NONE : new TenantPolicies(rules, apiKey, jwt);
  }

  private static RateLimitRule rule(Section r, Problems problems, boolean stateStore) {
    int before = problems.errors.size();
    if (!r.has("limit")) {
      problems.add(r.line(), r.keyPath("limit"), "missing: how many requests per window");
    }
    long limit = r.integer("limit", 1);
    if (limit < 1 || limit > 1_000_000_000L) {
      problems.add(r.keyPath("limit"), "must be between 1 and 1000000000");
    }
    if (!r.has("window")) {
      problems.add(r.line(), r.keyPath("window"), "missing: the window the limit is counted over, such as 1m");
    }
    Duration window = r.duration("window", Duration.ofMinutes(1));
    if (window.compareTo(Duration.ofSeconds(1)) < 0 || window.compareTo(MAX_WINDOW) > 0) {
      problems.add(r.keyPath("window"), "must be between 1s and 1d");
    }
    String keyText = r.string("key", "client_ip");
    RateLimitRule.Key key = null;
    String header = null;
    if (keyText.regionMatches(true, 0, "header:", 0, 7)) {
      header = keyText.substring(7).trim();
      if (!dev.keystone.script.EditRules.isToken(header) || header.isEmpty()) {
        problems.add(r.keyPath("key"), "header:NAME needs a header name, got '" + keyText + "'");
      }
      key = RateLimitRule.Key.HEADER;
    } else {
      for (RateLimitRule.Key k : RateLimitRule.Key.values()) {
        if (k != RateLimitRule.Key.HEADER && k.configName().equals(keyText)) {
          key = k;
        }
      }
      if (key == null) {
        problems.add(r.keyPath("key"), "tenant, client_ip, api_key or header:NAME, got '" + keyText + "'");
      }
    }
    String algorithmText = r.string("algorithm", "fixed_window");
    RateLimitRule.Algorithm algorithm = null;
    for (RateLimitRule.Algorithm a : RateLimitRule.Algorithm.values()) {
      if (a.configName().equals(algorithmText.toLowerCase(Locale.ROOT))) {
        algorithm = a;
      }
    }
    if (algorithm == null) {
      problems.add(r.keyPath("algorithm"), "fixed_window, sliding_window or token_bucket, got '" + algorithmText + "'");
    }
    String scope = r.string("scope", "local");
    if (!scope.equals("local") && !scope.equals("cluster")) {
      problems.add(r.keyPath("scope"), "local or cluster, got '" + scope + "'");
    }
    boolean cluster = scope.equals("cluster");
    if (cluster && !stateStore) {
      problems.add(r.keyPath("scope"), "cluster counts in the state store: set state_store: redis://HOST:PORT at the top");
    }
    String failure = r.string("on_store_failure", "local");
    if (!failure.equals("local") && !failure.equals("deny")) {
      problems.add(r.keyPath("on_store_failure"), "local (count on each instance) or deny (503), got '" + failure + "'");
    }
    // by default a fiftieth of the limit at a time (at most 100): a round trip per 50th of the
    // limit, and never more than that unused per instance when a window ends
    long batch = r.integer("batch", Math.max(1, Math.min(100, limit / 50)));
    if (batch < 1 || batch > limit) {
      problems.add(r.keyPath("batch"), "must be between 1 and the limit (" + limit + ")");
    }
    if ((r.has("batch") || r.has("on_store_failure")) && !cluster) {
      problems.add(r.keyPath(r.has("batch") ? "batch" : "on_store_failure"), "only for scope: cluster");
    }
    if (problems.errors.size() > before) {
      return null;
    }
    return new RateLimitRule(key, header, limit, window, algorithm, cluster, failure.equals("deny"), batch);
  }
}
