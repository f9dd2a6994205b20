package dev.keystone.model;

/**
 * The state store ({@code state_store: redis://...}) as this instance sees it: while it is down,
 * cluster rate limits use their fallback ({@code on_store_failure}).
 *
 * @param problem why it is down (null when up)
 */
public record StateStoreStatus(String url, boolean up, String problem) {
}
