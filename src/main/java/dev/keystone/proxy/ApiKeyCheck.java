package dev.keystone.proxy;

import dev.keystone.model.ApiKey;
import dev.keystone.model.ApiKeyRule;
import dev.keystone.model.ApiKeyTable;
import dev.keystone.policy.ApiKeyCodec;

import java.time.Clock;
import java.util.List;
import java.util.function.Supplier;

/**
 * A tenant's {@code api_key}: the key in its header is looked up by SHA-256 among the keys of the
 * keys file and the cluster's store; it must open the tenant and carry the tenant's scopes. The
 * key itself is removed from the request (the backend, the script and the access log see only its
 * name, in {@code forward_as}). No key, or one unknown or expired: 401 with a challenge; a key
 * for another tenant or without the scopes: 403. A name header the client sent was removed by
 * {@link PolicyHeaders}, for every tenant: only the gateway sets it.
 */
final class ApiKeyCheck implements Interceptor {

  static final String DEFAULT_NAME_HEADER = "X-Api-Key-Name";
  /** A longer header is no key of ours (ours are 46 characters): refused unhashed. */
  static final int MAX_KEY = 256;

  private final Supplier<ApiKeyTable> keys;
  private final Clock clock;

  ApiKeyCheck(Supplier<ApiKeyTable> keys, Clock clock) {
    this.keys = keys;
    this.clock = clock;
  }

  @Override
  public void handle(Exchange ex) {
    RequestHead head = ex.head(); // a client's copies of the name headers are gone already (PolicyHeaders)
    ApiKeyRule rule = ex.tenant().policies().apiKey();
    if (rule == null) {
      ex.next();
      return;
    }
    head.headers().remove(rule.forwardAs());
    List<String> presented = head.headers().getAll(rule.header());
    head.headers().remove(rule.header()); // never forwarded, whatever happens next
    String tenant = ex.tenant().name();
    if (presented.isEmpty()) {
      if (rule.required()) {
        refuse(ex, rule, "tenant " + tenant + " needs an API key in " + rule.header());
      } else {
        ex.next();
      }
      return;
    }
    if (presented.size() > 1) {
      ex.fail(ProxyError.BAD_REQUEST, "more than one " + rule.header() + " header");
      return;
    }
    String key = presented.get(0).trim();
    ApiKey k = key.length() > MAX_KEY ? null : keys.get().find(ApiKeyCodec.sha256(key));
    if (k == null || k.expired(clock.instant())) {
      refuse(ex, rule, "unknown or expired API key for tenant " + tenant);
      return;
    }
    if (!k.opens(tenant)) {
      ex.apiKeyName = k.name();
      ex.fail(ProxyError.FORBIDDEN, "the API key " + k.name() + " does not open tenant " + tenant);
      return;
    }
    if (!k.scopes().containsAll(rule.scopes())) {
      ex.apiKeyName = k.name();
      ex.fail(ProxyError.FORBIDDEN, "the API key " + k.name() + " lacks scopes " + rule.scopes().stream()
          .filter(s -> !k.scopes().contains(s)).sorted().toList() + " of tenant " + tenant);
      return;
    }
    ex.apiKeyName = k.name();
    head.headers().set(rule.forwardAs(), k.name());
    ex.next();
  }

  private static void refuse(Exchange ex, ApiKeyRule rule, String why) {
    ex.challenge = "ApiKey header=\"" + rule.header() + "\"";
    ex.fail(ProxyError.UNAUTHORIZED, why);
  }
}
