package dev.keystone.model;

import java.util.Set;

/**
 * A tenant's {@code api_key}: requests present a key in {@code header}; the gateway checks it (it
 * must open this tenant and have every one of {@code scopes}), removes it, and tells the backend
 * the key's name in {@code forwardAs}.
 *
 * @param required without a key: 401 (true) or passed on without a name (false)
 */
public record ApiKeyRule(String header, boolean required, Set<String> scopes, String forwardAs) {

  public ApiKeyRule {
    scopes = Set.copyOf(scopes);
  }
}
